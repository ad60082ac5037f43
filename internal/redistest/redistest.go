// Package redistest runs real redis-server processes for tests: one per call
// to Start, on a free loopback port with its own temporary directory, tracked
// by pid and stopped when the test ends. It is the one place tests start
// Redis; Run serves a test that renders the configuration itself.
package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"counter/internal/redisinfo"
	"counter/internal/testutil"
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
	*Process // the current process; Restart replaces it

	tb        testing.TB
	bin       string
	dir       string
	port      int
	user      string
	password  string
	socket    string // "" without WithUnixSocket
	args      []string
	tls       *testutil.TLS // nil: plain TCP
	clientTLS *tls.Config
}

type config struct {
	persist  bool
	tls      bool
	mtls     bool
	ca       *testutil.TLS // WithCA: shared with other servers; nil: one of its own
	socket   bool
	user     string
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

// WithUser makes the helper's own clients (readiness, Do, Client) log in as
// an ACL user that WithArgs("--user", name, ...) defines, as a provisioned
// node's counterd does; the rules must allow PING. URL then carries both.
func WithUser(name, password string) Option {
	return func(c *config) { c.user, c.password = name, password }
}

// WithUnixSocket also serves on a Unix socket (mode 700): see Socket.
func WithUnixSocket() Option { return func(c *config) { c.socket = true } }

// WithTLS serves TLS only (no plain port), with a certificate for 127.0.0.1
// from a CA made for this server: see CAFile. URL then starts with rediss://.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithClientCerts is WithTLS that also demands a client certificate from the
// same CA (tls-auth-clients yes), as the cluster's Redis nodes do: see CertFile.
func WithClientCerts() Option { return func(c *config) { c.tls, c.mtls = true, true } }

// WithCA is WithClientCerts with a CA and certificate shared by several
// servers (a cluster whose nodes trust each other): see Cluster.
func WithCA(t testutil.TLS) Option {
	return func(c *config) { c.tls, c.mtls, c.ca = true, true, &t }
}

// WithArgs appends raw redis-server arguments, e.g. "--repl-ping-replica-period", "1".
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Start runs a redis-server for the rest of tb. It skips tb when the server
// binary is missing and fails it when the server does not answer PING in time.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{tb: tb, bin: lookBinary(tb), dir: tb.TempDir(), user: c.user, password: c.password}
	if c.tls {
		t := c.ca
		if t == nil {
			nt := testutil.NewTLS(tb)
			t = &nt
		}
		s.tls, s.clientTLS = t, t.ClientConfig(tb)
	}
	if c.socket {
		// Unix socket paths are limited to 107 bytes; t.TempDir can be longer.
		dir, err := os.MkdirTemp("", "redistest")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
		s.socket = filepath.Join(dir, "redis.sock")
	}
	s.args = s.baseArgs(c)

	// A free port can be taken by someone else between our probe and the
	// server's bind; try a few ports before giving up.
	for attempt := 0; ; attempt++ {
		s.port = testutil.FreePort(tb)
		err := s.start()
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
	if s.socket != "" {
		args = append(args, "--unixsocket", s.socket, "--unixsocketperm", "700")
	}
	if s.tls != nil {
		args = append(args, "--tls-cert-file", s.tls.CertFile, "--tls-key-file", s.tls.KeyFile,
			"--tls-ca-cert-file", s.tls.CAFile, "--tls-auth-clients", map[bool]string{false: "no", true: "yes"}[c.mtls])
		if c.ca != nil { // its peers share the CA: replicate over TLS too
			args = append(args, "--tls-replication", "yes")
		}
	}
	if c.password != "" && c.user == "" {
		args = append(args, "--requirepass", c.password, "--masterauth", c.password)
	}
	return append(args, c.args...)
}

func (s *Server) logPath() string { return filepath.Join(s.dir, "redis.log") }

// start launches the process on s.port and waits until it answers PING.
func (s *Server) start() error {
	args := append([]string{"--port", strconv.Itoa(s.port)}, s.args...)
	if s.tls != nil {
		args = append([]string{"--port", "0", "--tls-port", strconv.Itoa(s.port)}, s.args...)
	}
	c := s.newClient()
	defer c.Close()
	p, err := launch(s.tb, s.bin, s.dir, s.logPath(), func(ctx context.Context) error { return c.Ping(ctx).Err() }, args)
	if err != nil {
		return err
	}
	s.Process = p
	return nil
}

func (s *Server) newClient() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     s.Addr(),
		Username:                 s.user,
		Password:                 s.password,
		TLSConfig:                s.clientTLS,
		MaxRetries:               -1,
		DialTimeout:              time.Second,
		ReadTimeout:              2 * time.Second,
		PoolSize:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Socket is the path of the Unix socket WithUnixSocket serves; "" without.
func (s *Server) Socket() string { return s.socket }

// URL is redis://[[user]:password@]127.0.0.1:port/0, rediss:// WithTLS.
func (s *Server) URL() string {
	scheme := "redis://"
	if s.tls != nil {
		scheme = "rediss://"
	}
	if s.password != "" {
		return scheme + s.user + ":" + s.password + "@" + s.Addr() + "/0"
	}
	return scheme + s.Addr() + "/0"
}

// CertFile and KeyFile are a certificate and key the CA signed, good as a
// client certificate; "" without TLS.
func (s *Server) CertFile() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.CertFile
}

// KeyFile is the private key of CertFile.
func (s *Server) KeyFile() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.KeyFile
}

// CAFile is the PEM file of the CA that signed a WithTLS server's
// certificate; "" without TLS.
func (s *Server) CAFile() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.CAFile
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
	me := "port=" + strconv.Itoa(s.port) + ",state=online" // in the master's slaveN:ip=...,port=...,state=... line
	testutil.Poll(s.tb, startDeadline, fmt.Sprintf("redistest: master pid %d lists replica pid %d online", master.Pid(), s.Pid()),
		func(ctx context.Context) error {
			info, err := c.Info(ctx, "replication").Result()
			if err != nil {
				return err
			}
			f := redisinfo.Parse(info)
			for k, v := range f {
				if strings.HasPrefix(k, "slave") && strings.Contains(v, me) {
					return nil
				}
			}
			return fmt.Errorf("connected_slaves:%s, none is port %d online", f["connected_slaves"], s.port)
		})
}

// WaitLinkUp polls INFO replication until master_link_status:up or the deadline.
func (s *Server) WaitLinkUp(within time.Duration) error {
	c := s.newClient()
	defer c.Close()
	return testutil.Wait(within, func(ctx context.Context) error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if f := redisinfo.Parse(info); !f.LinkUp() {
			return fmt.Errorf("replica pid %d: role:%s master_link_status:%s", s.Pid(), f["role"], f["master_link_status"])
		}
		return nil
	})
}
