package daemon

import (
	"context"
	"net"
	"net/http"
	"slices"
	"time"
)

// events streams the value: once on connect, then on every change, with heartbeats.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.hub.Clients() >= s.maxStreams {
		// A soft cap, so streams cannot take every file descriptor (eventStreamCap).
		s.fail(w, r, errTooManyStreams)
		return
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "text/event-stream")
		return
	}
	if !s.hasValue() {
		// Catching up: hold the stream (the browser's EventSource waits)
		// until a value is confirmed, rather than start it with none.
		if err := s.hub.waitValue(r.Context()); err != nil {
			return
		}
	}
	if r.ProtoMajor == 1 && s.hijackEvents(w) {
		return
	}
	s.streamEvents(w, r)
}

// hasValue reports whether counterd has a value to start a stream with:
// one published to the hub, or one the store confirmed.
func (s *Server) hasValue() bool {
	if _, ok := s.hub.Latest(); ok {
		return true
	}
	_, confirmed := s.store.Value()
	return !confirmed.IsZero()
}

// hijackEvents hands an HTTP/1.1 connection to the hub's broadcaster.
func (s *Server) hijackEvents(w http.ResponseWriter) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	s.attachStream(conn)
	return true
}

// attachStream answers an event stream request on a connection taken over from
// the HTTP server (net/http's or fasthttp's) and hands it to the hub. The
// response has no length and no chunking: the stream ends when either side closes.
func (s *Server) attachStream(conn net.Conn) {
	// Hijack's contract lets the server's request deadlines stay on the conn (Go
	// 1.26 happens to clear the read one); a leftover one would drop the client
	// when the parked reader times out. Writes set their own deadline.
	_ = conn.SetReadDeadline(time.Time{})
	v, _ := s.store.Value()
	if err := s.hub.attach(conn, s.streamHead, v); err != nil {
		conn.Close()
	}
}

// streamHead is the response head of a hijacked event stream and its first line.
// Its capacity is its length, so the appends of concurrent attaches each copy it.
func streamHead(headers http.Header) []byte {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n")
	for k, vs := range headers {
		for _, v := range vs {
			head = append(head, k+": "+v+"\r\n"...)
		}
	}
	head = append(head, "\r\nretry: 2000\n"...)
	return slices.Clip(head)
}

// streamEvents serves a stream that cannot be hijacked (HTTP/2) from its own goroutine.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	wake, cancel, err := s.hub.subscribe()
	if err != nil {
		s.fail(w, r, err)
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
	h.Set("X-Accel-Buffering", "no") // a reverse proxy in front must not buffer the stream
	w.WriteHeader(http.StatusOK)

	// The deadline bounds one event's write only: HTTP/2 resets a stream
	// whose write deadline passes even while nothing is being written, which
	// cut every idle page a second after its last event.
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventWriteWithin))
		if _, err := w.Write(b); err != nil {
			return false
		}
		if rc.Flush() != nil {
			return false
		}
		return rc.SetWriteDeadline(time.Time{}) == nil
	}
	fallback, _ := s.store.Value()
	last := s.hub.state(fallback)
	if !send(appendChange([]byte("retry: 2000\n"), streamState{value: last.value + 1}, last)) {
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
			if cur := s.hub.state(last.value); cur != last {
				msg := appendChange(nil, last, cur)
				last = cur
				if !send(msg) {
					return
				}
			}
		}
	}
}

// watchFreshness tells open pages when the value grows older than --max-staleness
// and when it is fresh again, checking as often as the store polls.
func (s *Server) watchFreshness(ctx context.Context) {
	t := time.NewTicker(pollInterval(s.cfg.MaxStaleness))
	defer t.Stop()
	for {
		_, confirmed := s.store.Value()
		s.hub.SetStale(s.now().Sub(confirmed) > s.cfg.MaxStaleness)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
