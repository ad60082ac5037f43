package daemon

import (
	"net/http"
	"time"
)

// securityHeaders are set on every response, computed once. node (empty:
// none) is sent as Counter-Node: behind one service name or an anycast
// address, it tells a user and an admin which node answered.
func securityHeaders(tls bool, node string) http.Header {
	h := http.Header{
		"Content-Security-Policy":    {contentSecurityPolicy()},
		"X-Content-Type-Options":     {"nosniff"},
		"X-Frame-Options":            {"DENY"},
		"Referrer-Policy":            {"same-origin"},
		"Cross-Origin-Opener-Policy": {"same-origin"},
	}
	if node != "" {
		h[counterNodeHeader] = []string{node}
	}
	if tls {
		h["Strict-Transport-Security"] = []string{"max-age=31536000"}
	}
	return h
}

const counterNodeHeader = "Counter-Node"

// secure adds the security headers. The shared slices are never appended to.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range s.headers {
			h[k] = v
		}
		next.ServeHTTP(w, r)
	})
}

// refuseConnect answers CONNECT with 400: counterd is an origin server, not a
// proxy, and a CONNECT target (host:port) names nothing it serves.
func (s *Server) refuseConnect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			s.fail(w, r, &badRequest{msgNotAProxy})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses cross-origin POSTs (by Sec-Fetch-Site, else Origin); requests
// with neither header, as from curl, pass. SameSite=Strict cookies are the second line.
func (s *Server) sameOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errCrossOrigin)
	}))
	return cop.Handler(next)
}

// limitBody caps request bodies at maxBody bytes (413 beyond).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			s.fail(w, r, &http.MaxBytesError{Limit: maxBody})
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and the deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route counts and times the requests of one named route.
func (s *Server) route(name string, h http.HandlerFunc) http.Handler {
	rm := s.metrics.forRoute(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		rm.observe(sw.code, time.Since(start))
	})
}
