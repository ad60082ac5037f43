package redisconf

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/daemon/store"
)

// testRealStore runs counterd's own store code against the rendered ACL:
// every command it sends, directly or from its scripts, must be allowed.
// It reaches Redis through tlsProxy because the store cannot present a
// client certificate yet.
func testRealStore(t *testing.T, c *cluster, master, replica *node) {
	clientTLS := func(host string) *tls.Config {
		return &tls.Config{RootCAs: c.ca.Pool(), ServerName: host, Certificates: []tls.Certificate{c.counterdCert}, MinVersion: tls.VersionTLS12}
	}
	redisURL := func(proxy string) string {
		return (&url.URL{Scheme: "redis", User: url.UserPassword("counterd", c.counterdPassword), Host: proxy}).String()
	}
	localURL := redisURL(tlsProxy(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(replica.port)), clientTLS("127.0.0.1")))
	masterURL := redisURL(tlsProxy(t, net.JoinHostPort(master.addr, strconv.Itoa(master.port)), clientTLS(master.addr)))

	var mu sync.Mutex
	var redisErrs []string
	open := func(hash store.HashParams) *store.Store {
		s, err := store.Open(context.Background(), store.Options{
			LocalURL: localURL, MasterURL: masterURL,
			Hash: hash, PollInterval: 100 * time.Millisecond, Timeout: 2 * time.Second,
			OnRedisError: func(op string, err error) {
				mu.Lock()
				defer mu.Unlock()
				redisErrs = append(redisErrs, op+": "+err.Error())
			},
		})
		if err != nil {
			t.Fatalf("store.Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	fast := store.HashParams{Time: 1, MemoryKiB: 64, Threads: 1}
	s := open(fast)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	waitFor(t, "store ready (GET and INFO on the replica)", 10*time.Second, func(context.Context) error {
		if !s.Ready() {
			return errors.New("no value read yet")
		}
		return nil
	})
	if err := s.Register(ctx, "bob", "bob-password"); err != nil {
		t.Fatalf("Register (EVAL, INFO, WAIT on the master): %v", err)
	}
	if err := s.Authenticate(ctx, "bob", "bob-password"); err != nil {
		t.Fatalf("Authenticate (HMGET): %v", err)
	}
	// A record from before logins were folded is moved (SCAN, RENAME in a script).
	if err := c.counterd(t, master, master.addr).HSet(ctx, "counter:user:Legacy", "hash", "x").Err(); err != nil {
		t.Fatalf("HSET a legacy record: %v", err)
	}
	if moved, _, err := s.FoldLegacyLogins(ctx); err != nil || moved != 1 {
		t.Fatalf("FoldLegacyLogins = %d moved, %v; want 1", moved, err)
	}
	token, err := s.NewSession(ctx, "bob")
	if err != nil {
		t.Fatalf("NewSession (SET EX): %v", err)
	}
	if login, err := s.SessionLogin(ctx, token); err != nil || login != "bob" {
		t.Fatalf("SessionLogin (GET) = %q, %v", login, err)
	}
	p, err := s.IncrementSession(ctx, token)
	if err != nil {
		t.Fatalf("IncrementSession (the increment script): %v", err)
	}
	v := p.Value
	var tooSoon *store.TooSoonError
	if _, err := s.IncrementSession(ctx, token); !errors.As(err, &tooSoon) {
		t.Errorf("second IncrementSession: %v, want TooSoonError", err)
	}
	waitFor(t, "the press reaches the replica's subscriber", 10*time.Second, func(context.Context) error {
		if got, _ := s.Value(); got != v {
			return errors.New("value " + strconv.FormatInt(got, 10) + ", want " + strconv.FormatInt(v, 10))
		}
		return nil
	})

	// Other hash parameters make Authenticate rehash with the rehash script.
	stronger := fast
	stronger.Time = 2
	if err := open(stronger).Authenticate(ctx, "bob", "bob-password"); err != nil {
		t.Fatalf("Authenticate with new hash parameters: %v", err)
	}
	hash, err := c.counterd(t, master, master.addr).HGet(ctx, "counter:user:bob", "hash").Result()
	if err != nil || !strings.Contains(hash, "t=2") {
		t.Errorf("hash after rehash = %q, %v; want t=2", hash, err)
	}

	if err := s.DeleteSession(ctx, token); err != nil {
		t.Fatalf("DeleteSession (DEL): %v", err)
	}
	waitFor(t, "session gone on the replica too", 10*time.Second, func(ctx context.Context) error {
		if _, err := s.SessionLogin(ctx, token); !errors.Is(err, store.ErrNoSession) {
			return errors.New("session still there")
		}
		return nil
	})
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range redisErrs {
		if strings.Contains(e, "NOPERM") || strings.Contains(e, "can't") {
			t.Errorf("store hit the ACL: %s", e)
		}
	}
}

// tlsProxy forwards plain connections accepted on loopback to target over
// TLS with conf's client certificate, until the test ends.
func tlsProxy(t *testing.T, target string, conf *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		closed bool
		conns  = make(map[net.Conn]bool)
		wg     sync.WaitGroup
	)
	track := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return false
		}
		for _, c := range cs {
			conns[c] = true
		}
		return true
	}
	serve := func(down net.Conn) {
		defer down.Close()
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 2 * time.Second}, Config: conf}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		up, err := d.DialContext(ctx, "tcp", target)
		cancel()
		if err != nil {
			return
		}
		defer up.Close()
		if !track(down, up) {
			return
		}
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(up, down)
			_ = up.Close()
			close(done)
		}()
		_, _ = io.Copy(down, up)
		_ = down.Close()
		<-done
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
