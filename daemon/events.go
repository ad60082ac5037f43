package daemon

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Hub fans value changes out to Server-Sent Events clients. A slow client never
// blocks the others: each has a one-slot wake-up channel and reads the latest
// value when it wakes, so bursts coalesce to the newest value.
type Hub struct {
	mu      sync.Mutex
	latest  int64
	hasLast bool
	subs    map[chan struct{}]struct{}
	closed  bool
	done    chan struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{subs: map[chan struct{}]struct{}{}, done: make(chan struct{})}
}

// Publish records v as the latest value and wakes every subscriber.
func (h *Hub) Publish(v int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest, h.hasLast = v, true
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default: // already woken: it will read the latest value
		}
	}
}

// Latest returns the last published value, if any.
func (h *Hub) Latest() (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest, h.hasLast
}

// Clients returns the number of subscribers.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

var errHubClosed = errors.New("shutting down")

// subscribe returns a wake-up channel and its cancel function.
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

// Close ends every stream; later subscriptions fail.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// Timings of the event stream.
const (
	heartbeatEvery   = 15 * time.Second
	eventWriteWithin = 10 * time.Second
)

// events streams the value: once on connect, then on every change, with heartbeats.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	wake, cancel, err := s.hub.subscribe()
	if err != nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer cancel()
	rc := http.NewResponseController(w)
	// The server's read and write timeouts would cut a long stream: this handler
	// sets its own write deadline per event instead.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	v, _ := s.store.Value()
	if hv, ok := s.hub.Latest(); ok {
		v = hv
	}
	last := v
	buf := make([]byte, 0, 64)
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteWithin))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	buf = append(buf, "retry: 2000\ndata: "...)
	buf = strconv.AppendInt(buf, v, 10)
	buf = append(buf, "\n\n"...)
	if !send(buf) {
		return
	}
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.hub.done:
			return
		case <-heartbeat.C:
			if !send([]byte(":\n\n")) {
				return
			}
		case <-wake:
			v, _ := s.hub.Latest()
			if v == last {
				continue
			}
			last = v
			buf = append(buf[:0], "data: "...)
			buf = strconv.AppendInt(buf, v, 10)
			buf = append(buf, "\n\n"...)
			if !send(buf) {
				return
			}
		}
	}
}
