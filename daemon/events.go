package daemon

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// Hub fans value changes out to Server-Sent Events clients.
//
// HTTP/1.1 streams are hijacked and written by one broadcaster: per client only
// the connection stays in memory (no goroutine, no buffers), which is what lets
// one counterd hold 10,000 open pages (a parked reader notices hang-ups). Each change is written once per client
// with a short deadline; a client that cannot take a few bytes is dropped (its
// EventSource reconnects). Streams that cannot be hijacked (HTTP/2) get a
// goroutine each with a one-slot wake-up channel. Either way bursts coalesce:
// a client is sent the latest value, never a backlog.
type Hub struct {
	mu       sync.Mutex
	latest   int64
	hasValue bool
	conns    map[net.Conn]int64         // hijacked streams and the value each was sent last
	subs     map[chan struct{}]struct{} // streaming handlers, woken on change
	closed   bool
	done     chan struct{}
	kick     chan struct{} // wakes the broadcaster
	start    sync.Once
}

// Timings of the event streams.
const (
	heartbeatEvery   = 15 * time.Second
	eventWriteWithin = time.Second // per client and event; beyond it the client is dropped
	broadcastWorkers = 8           // so a stuck client delays only its share of the others
	maxEventStreams  = 30_000
)

var errHubClosed = errors.New("shutting down")

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{conns: map[net.Conn]int64{}, subs: map[chan struct{}]struct{}{},
		done: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// Publish records v as the latest value and wakes every stream.
func (h *Hub) Publish(v int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest, h.hasValue = v, true
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // already woken: it will read the latest value
		}
	}
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// Latest returns the last published value, if any.
func (h *Hub) Latest() (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest, h.hasValue
}

// Clients returns the number of open streams.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) + len(h.conns)
}

// Close ends every stream; later ones are refused.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done)
	for c := range h.conns {
		c.Close()
		delete(h.conns, c)
	}
}

// attach writes head and the current value (fallback if nothing was published)
// to a hijacked connection and hands it to the broadcaster. Holding the lock
// while writing orders this first event before any broadcast to c.
func (h *Hub) attach(c net.Conn, head []byte, fallback int64) error {
	h.start.Do(func() { go h.broadcaster() })
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errHubClosed
	}
	v := fallback
	if h.hasValue {
		v = h.latest
	}
	_ = c.SetWriteDeadline(time.Now().Add(eventWriteWithin))
	if _, err := c.Write(appendEvent(head, v)); err != nil {
		return err
	}
	h.conns[c] = v
	go h.watch(c)
	return nil
}

// watch drops c as soon as the client hangs up (or sends anything, which an
// event stream client never does). Its goroutine is the only per-client cost.
func (h *Hub) watch(c net.Conn) {
	var b [1]byte
	_, _ = c.Read(b[:])
	h.drop([]net.Conn{c})
}

// subscribe returns a wake-up channel and its cancel function, for streams not hijacked.
func (h *Hub) subscribe() (chan struct{}, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, errHubClosed
	}
	ch := make(chan struct{}, 1)
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}, nil
}

func appendEvent(b []byte, v int64) []byte {
	b = append(b, "data: "...)
	b = strconv.AppendInt(b, v, 10)
	return append(b, "\n\n"...)
}

// broadcaster writes each new value, and heartbeats, to the hijacked streams.
func (h *Hub) broadcaster() {
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	var conns []net.Conn
	for {
		var msg []byte
		select {
		case <-h.done:
			return
		case <-heartbeat.C:
			msg = []byte(":\n\n")
		case <-h.kick:
		}
		h.mu.Lock()
		conns = conns[:0]
		if msg == nil {
			v := h.latest
			msg = appendEvent(nil, v)
			for c, last := range h.conns {
				if last != v { // a stream that just attached may have it already
					h.conns[c] = v
					conns = append(conns, c)
				}
			}
		} else {
			for c := range h.conns {
				conns = append(conns, c)
			}
		}
		h.mu.Unlock()
		h.drop(writeAll(conns, msg))
	}
}

// writeAll writes msg to every conn in parallel and returns those that failed.
func writeAll(conns []net.Conn, msg []byte) []net.Conn {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []net.Conn
	)
	per := (len(conns) + broadcastWorkers - 1) / broadcastWorkers
	for start := 0; start < len(conns); start += per {
		part := conns[start:min(start+per, len(conns))]
		wg.Go(func() {
			deadline := time.Now().Add(eventWriteWithin)
			for _, c := range part {
				_ = c.SetWriteDeadline(deadline)
				if _, err := c.Write(msg); err != nil {
					mu.Lock()
					failed = append(failed, c)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return failed
}

func (h *Hub) drop(conns []net.Conn) {
	if len(conns) == 0 {
		return
	}
	h.mu.Lock()
	for _, c := range conns {
		delete(h.conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
