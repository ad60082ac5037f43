package daemon

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Deps are what a Server needs besides its Config. Only Store is required.
type Deps struct {
	Store   Store
	Hub     *Hub             // value changes for /events; a new one if nil
	Metrics *Metrics         // a new registry if nil
	Logger  *slog.Logger     // discards if nil
	Now     func() time.Time // time.Now if nil
}

// Server is counterd's HTTP handler.
type Server struct {
	cfg        Config
	store      Store
	hub        *Hub
	metrics    *Metrics
	log        *slog.Logger
	now        func() time.Time
	pages      *pages
	byLogin    *throttle // login attempts per login
	byAddr     *throttle // login and registration attempts per client address
	headers    http.Header
	streamHead []byte // of hijacked event streams
	maxStreams int    // open event streams past which /events answers 503
	handler    http.Handler
}

// Limits of login attempts, in memory.
const (
	attemptsPerLogin = 10
	attemptsPerAddr  = 30
	attemptWindow    = time.Minute
	maxThrottledKeys = 100_000
)

const (
	sessionCookie     = "counter_session" // HttpOnly: the secret token
	displayCookie     = "counter_login"   // readable by the page's script: the login name only
	readyzPingTimeout = time.Second
)

// NewServer returns the handler of every counterd route.
func NewServer(cfg Config, deps Deps) *Server {
	s := &Server{cfg: cfg, store: deps.Store, hub: deps.Hub, metrics: deps.Metrics, log: deps.Logger, now: deps.Now}
	if s.hub == nil {
		s.hub = NewHub()
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.pages = newPages(cfg.AuthMode, cfg.MaxStaleness)
	s.byLogin = newThrottle(attemptsPerLogin, attemptWindow, maxThrottledKeys, s.now)
	s.byAddr = newThrottle(attemptsPerAddr, attemptWindow, maxThrottledKeys, s.now)
	s.headers = securityHeaders(cfg.TLS())
	s.streamHead = streamHead(s.headers)
	s.maxStreams = maxEventStreams
	if nofile, err := fileLimit(); err != nil {
		s.log.Warn("event streams capped without knowing the file limit", "err", err, "max_event_streams", s.maxStreams)
	} else if s.maxStreams = eventStreamCap(nofile); s.maxStreams < maxEventStreams {
		s.log.Warn("the file limit caps the event streams; raise it (LimitNOFILE=, ulimit -n) for more",
			"file_limit", nofile, "max_event_streams", s.maxStreams)
	}
	s.metrics.watch(s.store, s.hub, s.now)
	s.handler = s.routes()
	return s
}

// Hub returns the hub that feeds /events.
func (s *Server) Hub() *Hub { return s.hub }

// ServeHTTP serves every route behind the security middleware.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
