package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
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
	stale    bool                       // the value is older than --max-staleness
	conns    map[net.Conn]streamState   // hijacked streams and what each was told last
	subs     map[chan struct{}]struct{} // streaming handlers, woken on change
	closed   bool
	done     chan struct{}
	kick     chan struct{} // wakes the broadcaster
	start    sync.Once
}

// streamState is what a client was last told.
type streamState struct {
	value int64
	stale bool
}

// Timings of the event streams.
const (
	heartbeatEvery   = 15 * time.Second
	eventWriteWithin = time.Second // per client and event; beyond it the client is dropped
	broadcastWorkers = 8           // so a stuck client delays only its share of the others
	maxEventStreams  = 30_000      // with LimitNOFILE=65536; a lower file limit lowers it (eventStreamCap)
)

// eventStreamCap is how many event streams fit a file limit of nofile
// descriptors: a quarter of them (at least 64) stays for everything else
// (listeners, Redis connections, requests in flight), so a page left open
// everywhere can never make accept fail; never more than maxEventStreams.
func eventStreamCap(nofile uint64) int {
	reserve := max(nofile/4, 64)
	if nofile <= reserve {
		return 0
	}
	return int(min(nofile-reserve, maxEventStreams))
}

// fileLimit is the process's RLIMIT_NOFILE (its soft limit, which Go raises
// to the hard one at start).
func fileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("read the file limit: %w", err)
	}
	return l.Cur, nil
}

var errHubClosed = errors.New("shutting down")

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{conns: map[net.Conn]streamState{}, subs: map[chan struct{}]struct{}{},
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

// SetStale records whether the held value is older than --max-staleness and,
// on a change, tells every stream (event "stale", data 1 or 0).
func (h *Hub) SetStale(stale bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stale == stale {
		return
	}
	h.stale = stale
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// state returns what streams should have been told.
func (h *Hub) state(fallback int64) streamState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stateLocked(fallback)
}

func (h *Hub) stateLocked(fallback int64) streamState {
	if h.hasValue {
		fallback = h.latest
	}
	return streamState{value: fallback, stale: h.stale}
}

// waitValue returns once a value has been published, or with the error of
// ctx or errHubClosed: an event stream opened while counterd catches up is
// held, not started with a value nobody confirmed.
func (h *Hub) waitValue(ctx context.Context) error {
	wake, cancel, err := h.subscribe()
	if err != nil {
		return err
	}
	defer cancel()
	for {
		if _, ok := h.Latest(); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-h.done:
			return errHubClosed
		case <-wake:
		}
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
	st := h.stateLocked(fallback)
	_ = c.SetWriteDeadline(time.Now().Add(eventWriteWithin))
	if _, err := c.Write(appendChange(head, streamState{value: st.value + 1}, st)); err != nil {
		return err
	}
	h.conns[c] = st
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

// appendChange appends the events that bring a client from old to cur.
func appendChange(b []byte, old, cur streamState) []byte {
	if old.stale != cur.stale {
		if cur.stale {
			b = append(b, "event: stale\ndata: 1\n\n"...)
		} else {
			b = append(b, "event: stale\ndata: 0\n\n"...)
		}
	}
	if old.value != cur.value {
		b = appendEvent(b, cur.value)
	}
	return b
}

// broadcaster writes each new value, and heartbeats, to the hijacked streams.
func (h *Hub) broadcaster() {
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	// Clients told different things so far get different messages: grouped by
	// whether their value (bit 0) and their staleness (bit 1) are behind.
	var groups [4][]net.Conn
	for {
		beat := false
		select {
		case <-h.done:
			return
		case <-heartbeat.C:
			beat = true
		case <-h.kick:
		}
		for i := range groups {
			groups[i] = groups[i][:0]
		}
		h.mu.Lock()
		cur := h.stateLocked(0)
		for c, was := range h.conns {
			k := 0
			if was.value != cur.value {
				k |= 1
			}
			if was.stale != cur.stale {
				k |= 2
			}
			if k != 0 || beat {
				groups[k] = append(groups[k], c)
				h.conns[c] = cur
			}
		}
		h.mu.Unlock()
		var failed []net.Conn
		for k, conns := range groups {
			if len(conns) == 0 {
				continue
			}
			msg := []byte(":\n\n") // a heartbeat, for clients already up to date
			if k != 0 {
				was := streamState{value: cur.value, stale: cur.stale != (k&2 != 0)}
				if k&1 != 0 {
					was.value++ // any other value: the new one is sent
				}
				msg = appendChange(nil, was, cur)
			}
			failed = append(failed, writeAll(conns, msg)...)
		}
		h.drop(failed)
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
