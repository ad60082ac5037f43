// Package redistest runs real redis-server processes for tests: one per call
// to Start, on a free loopback port with its own temporary directory, tracked
// by pid and stopped when the test ends.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Binary is where Debian's redis-server package installs the server.
const Binary = "/usr/bin/redis-server"

// How long a server may take to answer PING after start, or to exit after SIGTERM.
const (
	startDeadline = 10 * time.Second
	stopDeadline  = 10 * time.Second
)

// Server is one running (or stopped) redis-server owned by a test.
type Server struct {
	tb       testing.TB
	bin      string
	dir      string
	port     int
	password string
	args     []string
	tls      *tlsFiles // nil: plain TCP

	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
}

type config struct {
	persist  bool
	tls      bool
	mtls     bool
	password string
	args     []string
}

// Option changes how Start configures the server.
type Option func(*config)

// WithPersistence turns on the append-only file, so Restart keeps the data.
func WithPersistence() Option { return func(c *config) { c.persist = true } }

// WithPassword sets requirepass (and masterauth, for use as a replica).
// URL then carries the password.
func WithPassword(pw string) Option { return func(c *config) { c.password = pw } }

// WithTLS serves TLS only (no plain port), with a certificate for 127.0.0.1
// from a CA made for this server: see CAFile. URL then starts with rediss://.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithClientCerts is WithTLS that also demands a client certificate from the
// same CA (tls-auth-clients yes), as the cluster's Redis nodes do: see CertFile.
func WithClientCerts() Option { return func(c *config) { c.tls, c.mtls = true, true } }

// WithArgs appends raw redis-server arguments, e.g. "--repl-ping-replica-period", "1".
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Start runs a redis-server for the rest of tb. It skips tb when the server
// binary is missing and fails it when the server does not answer PING in time.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		tb.Skipf("SKIPPING: needs a real redis-server at %s (apt-get install redis-server): %v", Binary, err)
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), password: c.password}
	if c.tls {
		if s.tls, err = makeTLSFiles(s.dir); err != nil {
			tb.Fatalf("redistest: make TLS certificates: %v", err)
		}
	}
	s.args = s.baseArgs(c)
	tb.Cleanup(s.cleanup)

	// A free port can be taken by someone else between our probe and the
	// server's bind; try a few ports before giving up.
	for attempt := 0; ; attempt++ {
		s.port = freePort(tb)
		err = s.start()
		if err == nil {
			return s
		}
		if attempt == 2 {
			tb.Fatalf("redistest: %v", err)
		}
		tb.Logf("redistest: retrying on another port: %v", err)
	}
}

func (s *Server) baseArgs(c config) []string {
	args := []string{
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--logfile", s.logPath(),
		"--daemonize", "no",
		"--save", "",
		"--appendonly", "no",
		// Replicas sync at once instead of Redis's 5 s wait for more replicas.
		"--repl-diskless-sync-delay", "0",
	}
	if c.persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	}
	if s.tls != nil {
		args = append(args, "--tls-cert-file", s.tls.cert, "--tls-key-file", s.tls.key,
			"--tls-ca-cert-file", s.tls.ca, "--tls-auth-clients", map[bool]string{false: "no", true: "yes"}[c.mtls])
	}
	if c.password != "" {
		args = append(args, "--requirepass", c.password, "--masterauth", c.password)
	}
	return append(args, c.args...)
}

func (s *Server) logPath() string { return filepath.Join(s.dir, "redis.log") }

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start launches the process and waits until it answers PING.
func (s *Server) start() error {
	args := append([]string{"--port", strconv.Itoa(s.port)}, s.args...)
	if s.tls != nil {
		args = append([]string{"--port", "0", "--tls-port", strconv.Itoa(s.port)}, s.args...)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	c := s.newClient()
	defer c.Close()
	var lastErr error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		lastErr = c.Ping(pctx).Err()
		pcancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server pid %d on port %d exited before answering PING: %s",
				cmd.Process.Pid, s.port, s.logTail())
		case <-ctx.Done():
			s.kill()
			return fmt.Errorf("redis-server pid %d on port %d did not answer PING within %s: %v",
				cmd.Process.Pid, s.port, startDeadline, lastErr)
		case <-time.After(20 * time.Millisecond): // poll interval, not synchronisation
		}
	}
}

func (s *Server) newClient() *redis.Client {
	o := &redis.Options{
		Addr:                     s.Addr(),
		Password:                 s.password,
		MaxRetries:               -1,
		DialTimeout:              time.Second,
		ReadTimeout:              2 * time.Second,
		PoolSize:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if s.tls != nil {
		o.TLSConfig = s.tls.clientConfig()
	}
	return redis.NewClient(o)
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://[:password@]127.0.0.1:port/0, rediss:// WithTLS.
func (s *Server) URL() string {
	scheme := "redis://"
	if s.tls != nil {
		scheme = "rediss://"
	}
	if s.password != "" {
		return scheme + ":" + s.password + "@" + s.Addr() + "/0"
	}
	return scheme + s.Addr() + "/0"
}

// CertFile and KeyFile are a certificate and key the CA signed, good as a
// client certificate; "" without TLS.
func (s *Server) CertFile() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.cert
}

// KeyFile is the private key of CertFile.
func (s *Server) KeyFile() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.key
}

// CAFile is the PEM file of the CA that signed a WithTLS server's
// certificate; "" without TLS.
func (s *Server) CAFile() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.ca
}

// Pid is the process id of the running server, 0 when it is stopped.
func (s *Server) Pid() int {
	if s.cmd == nil || s.exited() {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Client returns a go-redis client for the server, closed when tb ends.
func (s *Server) Client() *redis.Client {
	c := s.newClient()
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Do runs one command and fails the test on error (redis.Nil included).
func (s *Server) Do(args ...any) any {
	s.tb.Helper()
	c := s.newClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.Do(ctx, args...).Result()
	if err != nil {
		s.tb.Fatalf("redistest: %v on pid %d: %v", args, s.Pid(), err)
	}
	return v
}

// Stop shuts the server down with SIGTERM (it saves data if persistence is
// on) and waits for it to exit, then SIGKILL if it takes too long.
func (s *Server) Stop() {
	s.tb.Helper()
	if s.cmd == nil || s.exited() {
		return
	}
	pid := s.cmd.Process.Pid
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // in case it was paused
	select {
	case <-s.done:
	case <-time.After(stopDeadline):
		s.tb.Errorf("redistest: pid %d ignored SIGTERM for %s, killing it", pid, stopDeadline)
		s.kill()
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.tb.Helper()
	s.kill()
}

func (s *Server) kill() {
	if s.cmd == nil || s.exited() {
		return
	}
	_ = s.cmd.Process.Kill() // SIGKILL also ends a paused (SIGSTOPped) process
	<-s.done
}

// Pause stops the process with SIGSTOP: connections stay open but nothing
// answers, like a host lost behind a silent network. Cleanup resumes it.
func (s *Server) Pause() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() {
	s.tb.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil || s.exited() {
		s.tb.Fatalf("redistest: %v to a server that is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: %v to pid %d: %v", sig, s.cmd.Process.Pid, err)
	}
}

// Restart stops the server and starts it again on the same port and directory.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}

// ReplicaOf makes s a replica of master and waits until the link is up and
// the master streams writes to it (state=online: until the replica's first
// REPLCONF ACK, up to a second after the sync, WAIT on the master counts it not).
func (s *Server) ReplicaOf(master *Server) {
	s.tb.Helper()
	s.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(master.port))
	if err := s.WaitLinkUp(startDeadline); err != nil {
		s.tb.Fatalf("redistest: %v", err)
	}
	c := master.newClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	me := "port=" + strconv.Itoa(s.port) + ",state=online"
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, me) {
			return
		}
		select {
		case <-ctx.Done():
			s.tb.Fatalf("redistest: master pid %d does not list replica pid %d online within %s (last: %v %q)",
				master.Pid(), s.Pid(), startDeadline, err, info)
		case <-time.After(20 * time.Millisecond): // poll interval, not synchronisation
		}
	}
}

// WaitLinkUp polls INFO replication until master_link_status:up or the deadline.
func (s *Server) WaitLinkUp(within time.Duration) error {
	c := s.newClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var last string
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = strings.ReplaceAll(strings.TrimSpace(info), "\r\n", " ")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replica pid %d: master link not up within %s (last INFO: %s)", s.Pid(), within, last)
		case <-time.After(20 * time.Millisecond): // poll interval, not synchronisation
		}
	}
}

func (s *Server) cleanup() {
	if s.tb.Failed() && s.cmd != nil {
		s.tb.Logf("redistest: redis-server pid %d port %d dir %s; log tail:\n%s",
			s.cmd.Process.Pid, s.port, s.dir, s.logTail())
	}
	s.kill()
}

// logTail returns the last lines of the server log, for failure messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log)"
		}
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
