package daemon

import (
	"context"
	"fmt"
	"net/http"
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
	p := s.pages.html(v, confirmed, s.now())
	h := w.Header()
	h["Content-Type"], h["Content-Length"], h["Cache-Control"] = htmlType, p.length, noCache
	_, _ = w.Write(p.body)
}

// getValue serves the value as digits and a newline.
func (s *Server) getValue(w http.ResponseWriter, r *http.Request) {
	v, _ := s.store.Value()
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

// readyz says whether this node should take traffic: its Redis answers and the value is fresh.
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
	if age := s.now().Sub(confirmed); age > s.cfg.MaxStaleness {
		w.WriteHeader(http.StatusServiceUnavailable)
		if confirmed.IsZero() {
			fmt.Fprintln(w, "value never confirmed by redis")
			return
		}
		fmt.Fprintf(w, "value is %s old, more than --max-staleness %s\n", age.Round(1e6), s.cfg.MaxStaleness)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
