package daemon

import (
	"context"
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
	byAddr     *throttle                                        // login and registration attempts per client address: refuses
	byPair     *throttle                                        // login attempts per (login, address): refuses
	byLogin    *throttle                                        // login attempts per login from anywhere: only slows
	pause      func(ctx context.Context, d time.Duration) error // waits d; tests record instead
	headers    http.Header
	streamHead []byte // of hijacked event streams
	maxStreams int    // open event streams past which /events answers 503
	handler    http.Handler
}

// Limits of login attempts, in memory, per attemptWindow (sliding). An address
// or an (address, login) pair over its limit gets 429. A login over
// attemptsPerLogin from all addresses together is never refused, only slowed:
// a refusal there would let strangers lock the owner out (OWASP authentication
// cheat sheet, "account lockout"); the pair limit already stops one guesser.
const (
	attemptsPerAddr  = 30
	attemptsPerPair  = 10
	attemptsPerLogin = 10
	attemptWindow    = time.Minute
	// Each attempt past attemptsPerLogin waits loginDelayStep more, up to
	// maxLoginDelay: a distributed guesser pays seconds per guess, the owner
	// one bounded wait.
	loginDelayStep = 250 * time.Millisecond
	maxLoginDelay  = 3 * time.Second
	// Keys per table; when full, the least recently used key is forgotten.
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
	s.byAddr = newThrottle(attemptsPerAddr, attemptWindow, maxThrottledKeys, s.now)
	s.byPair = newThrottle(attemptsPerPair, attemptWindow, maxThrottledKeys, s.now)
	s.byLogin = newThrottle(attemptsPerLogin, attemptWindow, maxThrottledKeys, s.now)
	s.pause = sleep
	s.headers = securityHeaders(cfg.TLS(), cfg.NodeName)
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
