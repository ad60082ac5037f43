// Package sshx is the SSH layer of the provisioner: host keys verified like
// OpenSSH does, key-only authentication, jump hosts, timeouts and keepalives,
// commands as argv (never pasted shell strings) and atomic file writes.
package sshx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config says how to reach and trust one host.
type Config struct {
	User string
	// KeyFile is a private key (ed25519, rsa, ecdsa) without passphrase;
	// empty means ssh-agent at AgentSocket.
	KeyFile     string
	AgentSocket string // usually $SSH_AUTH_SOCK
	KnownHosts  string // host keys are verified against this file
	// AcceptNew records keys of hosts missing from KnownHosts (OpenSSH's
	// StrictHostKeyChecking=accept-new). A changed key is always refused.
	AcceptNew bool
	// OnNewHostKey is told about every key AcceptNew recorded, so the CLI can say so.
	OnNewHostKey func(NewHostKey)
	// ConnectTimeout bounds TCP connect plus SSH handshake; default 10s.
	ConnectTimeout time.Duration
	// CommandTimeout bounds each Run without a deadline of its own; 0 means none.
	CommandTimeout time.Duration
	// KeepAlive is the interval of keepalive@openssh.com requests; default
	// 15s, negative disables. After KeepAliveMax (default 3) unanswered
	// intervals the connection is closed.
	KeepAlive    time.Duration
	KeepAliveMax int
	// Via is an established client the connection is tunnelled through
	// (a jump host); nil dials directly.
	Via    *Client
	Logger *slog.Logger
}

// NewHostKey describes a host key recorded under AcceptNew.
type NewHostKey struct {
	Host        string // host:port as dialled
	File        string // the known_hosts file it was appended to
	Type        string // e.g. ssh-ed25519
	Fingerprint string // SHA256:...
}

// Client is one authenticated SSH connection.
type Client struct {
	addr   string
	cfg    Config
	ssh    *ssh.Client
	log    *slog.Logger
	sudo   bool // commands go through `sudo -n --`
	stop   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	reason error // why the connection was closed from our side, for Wait
}

// Dial connects to addr (host:port), verifies its host key and authenticates.
func Dial(ctx context.Context, addr string, cfg Config) (*Client, error) {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.KeepAliveMax <= 0 {
		cfg.KeepAliveMax = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("ssh %s: no user", addr)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()

	hk, err := newHostKeys(cfg, addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	auth, closeAuth, err := authMethods(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	defer closeAuth()
	sshCfg := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth,
		HostKeyCallback:   hk.callback(cfg),
		HostKeyAlgorithms: hk.algorithms,
		Timeout:           cfg.ConnectTimeout,
	}

	var conn net.Conn
	if cfg.Via != nil {
		conn, err = cfg.Via.ssh.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("ssh %s via %s: %w", addr, cfg.Via.addr, err)
		}
	} else {
		var d net.Dialer
		if conn, err = d.DialContext(ctx, "tcp", addr); err != nil {
			return nil, fmt.Errorf("ssh %s: %w", addr, err)
		}
	}
	c, chans, reqs, err := handshake(ctx, conn, addr, sshCfg)
	if err != nil {
		conn.Close()
		err = hk.explain(cfg, err)
		var changed *HostKeyChangedError
		var unknown *UnknownHostError
		if errors.As(err, &changed) || errors.As(err, &unknown) {
			return nil, err // they name the host already
		}
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	cl := &Client{
		addr: addr,
		cfg:  cfg,
		ssh:  ssh.NewClient(c, chans, reqs),
		log:  cfg.Logger.With("host", addr),
		sudo: cfg.User != "root",
		stop: make(chan struct{}),
	}
	if cfg.KeepAlive > 0 {
		go cl.keepAlive()
	}
	return cl, nil
}

// handshake runs the SSH handshake bounded by ctx. The deadline is enforced
// by closing the conn, because a connection tunnelled through a jump host
// does not support SetDeadline and a silent peer would otherwise hang
// NewClientConn forever (golang/go#15113).
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // a no-op error on tunnelled conns; AfterFunc covers them
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() {
		if err == nil {
			c.Close()
		}
		return nil, nil, nil, fmt.Errorf("handshake: %w", context.Cause(ctx))
	}
	if err != nil {
		return nil, nil, nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return c, chans, reqs, nil
}

// keepAlive closes the connection when the peer stops answering, so a dead
// host fails the running command instead of hanging it.
func (c *Client) keepAlive() {
	t := time.NewTicker(c.cfg.KeepAlive)
	defer t.Stop()
	patience := time.Duration(c.cfg.KeepAliveMax) * c.cfg.KeepAlive
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			// OpenSSH answers unknown global requests with a failure, which
			// proves it is alive just as well; only silence counts.
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		wait := time.NewTimer(patience)
		select {
		case <-c.stop:
			wait.Stop()
			return
		case err := <-reply:
			wait.Stop()
			if err != nil {
				return // the connection is already gone; Wait says why
			}
		case <-wait.C:
			c.closeWith(fmt.Errorf("%w: no keepalive answer in %s", ErrPeerDead, patience))
			return
		}
	}
}

// ErrPeerDead means keepalives went unanswered and the connection was closed.
var ErrPeerDead = errors.New("host stopped answering")

func (c *Client) closeWith(reason error) {
	c.mu.Lock()
	if c.reason == nil {
		c.reason = reason
	}
	c.mu.Unlock()
	c.log.Warn("closing ssh connection", "err", reason)
	c.Close()
}

// Addr returns the host:port the client is connected to.
func (c *Client) Addr() string { return c.addr }

// Close ends the connection.
func (c *Client) Close() error {
	c.once.Do(func() { close(c.stop) })
	return c.ssh.Close()
}

// Wait blocks until the connection ends and says why.
func (c *Client) Wait() error {
	err := c.ssh.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != nil {
		return c.reason
	}
	return err
}

// closedBecause returns why the client closed the connection itself, if it did.
func (c *Client) closedBecause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// err describes a failure on an established connection, preferring the
// keepalive's verdict over the generic EOF it causes.
func (c *Client) err(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != nil {
		return fmt.Errorf("%w (%w)", c.reason, err)
	}
	return err
}
