package daemon

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Backoff of a failing accept, as net/http's: 5 ms doubling to 1 s.
const (
	acceptRetryFirst = 5 * time.Millisecond
	acceptRetryMax   = time.Second
	// logEvery bounds how often a failing accept, or refusals over the
	// per-address cap, are logged: a flood must not become a log flood.
	logEvery = 10 * time.Second
)

// guardedListener is what both HTTP servers accept from (fasthttp for plain
// HTTP, net/http for TLS and redirects). It keeps serving through accept
// errors that pass (fasthttp returns from Serve on the first one that is not
// a timeout, and counterd exited on EMFILE), and closes at once a connection
// from an address that holds its --max-conns-per-ip already.
type guardedListener struct {
	net.Listener
	log     *slog.Logger
	conns   *addrConns // nil: no per-address cap
	closed  chan struct{}
	closing sync.Once

	failingSince, lastLogged time.Time // of accept errors; only Accept touches them
}

func guardListener(ln net.Listener, conns *addrConns, log *slog.Logger) *guardedListener {
	return &guardedListener{Listener: ln, log: log, conns: conns, closed: make(chan struct{})}
}

// Accept returns the next connection within its address's cap, retrying temporary errors.
func (l *guardedListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !temporaryAcceptError(err) {
				return nil, err
			}
			delay = min(max(2*delay, acceptRetryFirst), acceptRetryMax)
			l.acceptFailed(err, delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		if !l.failingSince.IsZero() {
			l.log.Info("accepting connections again", "after", time.Since(l.failingSince).Round(time.Millisecond))
			l.failingSince, l.lastLogged = time.Time{}, time.Time{}
		}
		if l.conns == nil {
			return c, nil
		}
		if cc := l.conns.admit(c); cc != nil {
			return cc, nil
		}
	}
}

func (l *guardedListener) acceptFailed(err error, retry time.Duration) {
	now := time.Now()
	if l.failingSince.IsZero() {
		l.failingSince = now
	}
	if now.Sub(l.lastLogged) >= logEvery {
		l.log.Warn("accept failed, retrying; new connections wait meanwhile", "err", err,
			"retry_in", retry, "failing_for", now.Sub(l.failingSince).Round(time.Millisecond))
		l.lastLogged = now
	}
}

// Close stops accepting, also during a retry's wait.
func (l *guardedListener) Close() error {
	l.closing.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// temporaryAcceptError reports errors after which accept can succeed later:
// out of descriptors or buffers (a flood), or a connection that failed
// between the handshake and accept (accept(2) passes those on). Anything
// else (a closed listener, EBADF, EINVAL) ends serving.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPERM, syscall.EPROTO, syscall.ENETDOWN,
		syscall.ENOPROTOOPT, syscall.EHOSTDOWN, syscall.ENONET, syscall.EHOSTUNREACH,
		syscall.EOPNOTSUPP, syscall.ENETUNREACH} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// addrConns counts the open connections of each client address (IPv6: each /64,
// as the login throttle does), across the listeners that share it.
type addrConns struct {
	max int
	log *slog.Logger

	mu         sync.Mutex
	open       map[string]int
	refused    int // since the last log line
	lastLogged time.Time
}

func newAddrConns(max int, log *slog.Logger) *addrConns {
	if max <= 0 {
		return nil
	}
	return &addrConns{max: max, log: log, open: map[string]int{}}
}

// admit returns c counted against its address, or closes it and returns nil
// when the address holds its cap already.
func (a *addrConns) admit(c net.Conn) net.Conn {
	key := clientKey(c.RemoteAddr().String())
	a.mu.Lock()
	if a.open[key] >= a.max {
		a.refused++
		now := time.Now()
		if now.Sub(a.lastLogged) >= logEvery {
			a.log.Warn("connections over --max-conns-per-ip closed", "addr", key, "max", a.max, "closed", a.refused)
			a.refused, a.lastLogged = 0, now
		}
		a.mu.Unlock()
		c.Close()
		return nil
	}
	a.open[key]++
	a.mu.Unlock()
	return &countedConn{Conn: c, a: a, key: key}
}

func (a *addrConns) release(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open[key]--; a.open[key] <= 0 {
		delete(a.open, key)
	}
}

// countedConn gives its place back when closed, by whoever closes it (the
// server, or the hub for an event stream).
type countedConn struct {
	net.Conn
	a        *addrConns
	key      string
	released sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.released.Do(func() { c.a.release(c.key) })
	return err
}

// CloseWrite lets net/http half-close after an error answer, as it does on a bare *net.TCPConn.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
