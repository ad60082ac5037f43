package daemon

import "net/http"

// routes lists every endpoint; the middleware applies to all of them.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", s.route("page", s.page))
	mux.Handle("GET /getvalue", s.route("getvalue", s.getValue))
	mux.Handle("GET /events", s.route("events", s.events))
	mux.Handle("POST /register", s.route("register", s.register))
	mux.Handle("POST /{$}", s.route("login", s.login))
	mux.Handle("POST /logout", s.route("logout", s.logout))
	mux.Handle("POST /inc", s.route("inc", s.inc))
	mux.Handle("GET /healthz", s.route("healthz", s.healthz))
	mux.Handle("GET /readyz", s.route("readyz", s.readyz))
	return s.secure(s.refuseConnect(s.sameOrigin(s.limitBody(mux))))
}

// metricsRoutes is all that the --metrics-listen address serves. /metrics
// tells the Go version, open files and Redis errors: not for the public, so
// it has its own listener, which provisioning firewalls to the admin networks.
func (s *Server) metricsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.route("metrics", s.metrics.handler().ServeHTTP))
	return mux
}
