package daemon

import (
	"context"
	"fmt"
	"net/http"

	"counter/daemon/store"
)

// Header values of the pre-rendered responses, shared by every request.
var (
	htmlType  = []string{"text/html; charset=utf-8"}
	plainType = []string{"text/plain; charset=utf-8"}
	noCache   = []string{"no-cache"}

	healthzBody = []byte("ok\n")
)

// page serves the pre-rendered page: the same bytes for every visitor.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	v, confirmed := s.store.Value()
	if confirmed.IsZero() {
		s.fail(w, r, errCatchingUp)
		return
	}
	p := s.pages.html(v, confirmed, s.now())
	h := w.Header()
	h["Content-Type"], h["Content-Length"], h["Cache-Control"] = htmlType, p.length, noCache
	_, _ = w.Write(p.body)
}

// getValue serves the value as digits and a newline. A value Redis never
// confirmed (none read yet, or only from a replica that has not synced since
// it restarted: an old snapshot) is not served as current.
func (s *Server) getValue(w http.ResponseWriter, r *http.Request) {
	v, confirmed := s.store.Value()
	if confirmed.IsZero() {
		s.fail(w, r, errCatchingUp)
		return
	}
	p := s.pages.text(v)
	h := w.Header()
	h["Content-Type"], h["Content-Length"], h["Cache-Control"] = plainType, p.length, noCache
	_, _ = w.Write(p.body)
}

// healthz says the process serves.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = plainType
	_, _ = w.Write(healthzBody)
}

// masterWatcher tells whether the sentinels see the local replica's lost
// master down (store.Store does, with --sentinels).
type masterWatcher interface {
	MasterDown() (store.MasterDown, bool)
}

// readyz says whether this node should take traffic: its Redis answers and
// the value is fresh, or (with --sentinels) the value is old only because
// the master it comes from is down for everyone: nobody can write, so no
// other node has a newer value, and withdrawing every replica during a
// failover would take the whole service down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = plainType
	w.Header()["Cache-Control"] = noCache
	ctx, cancel := context.WithTimeout(r.Context(), readyzPingTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "local redis does not answer")
		return
	}
	_, confirmed := s.store.Value()
	age := s.now().Sub(confirmed)
	if age > s.cfg.MaxStaleness && !confirmed.IsZero() {
		if mw, ok := s.store.(masterWatcher); ok {
			// The value was fresh when the master was last seen alive.
			if d, down := mw.MasterDown(); down && !confirmed.Before(d.LastSeen.Add(-s.cfg.MaxStaleness)) {
				fmt.Fprintf(w, "ok: the master %s is down (%d of %d sentinels agree): nobody can write, the value (%s old) is the latest; presses wait for the failover\n",
					d.Master, d.Votes, d.Of, age.Round(1e6))
				return
			}
		}
	}
	if age > s.cfg.MaxStaleness {
		w.WriteHeader(http.StatusServiceUnavailable)
		if confirmed.IsZero() {
			fmt.Fprintln(w, "catching up: value never confirmed by redis (not read yet, or the local replica has not synced since it started)")
			return
		}
		fmt.Fprintf(w, "value is %s old, more than --max-staleness %s\n", age.Round(1e6), s.cfg.MaxStaleness)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
