package redisconf

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/testutil"
)

// testRealStore runs counterd's own store code against the rendered ACL:
// every command it sends, directly or from its scripts, must be allowed.
// It connects as counterd does on a node: rediss:// with the cluster CA and
// counterd's client certificate.
func testRealStore(t *testing.T, c *cluster, master, replica *node) {
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "counterd.crt"), filepath.Join(dir, "counterd.key")
	certPEM, keyPEM, err := c.ca.Issue("counterd", []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for path, b := range map[string][]byte{caFile: c.ca.CertPEM(), certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	redisURL := func(host string, port int) string {
		return (&url.URL{Scheme: "rediss", User: url.UserPassword("counterd", c.counterdPassword),
			Host: net.JoinHostPort(host, strconv.Itoa(port))}).String()
	}
	localURL, masterURL := redisURL("127.0.0.1", replica.port), redisURL(master.addr, master.port)

	var mu sync.Mutex
	var redisErrs []string
	open := func(hash store.HashParams) *store.Store {
		s, err := store.Open(context.Background(), store.Options{
			LocalURL: localURL, MasterURL: masterURL,
			CAFile: caFile, CertFile: certFile, KeyFile: keyFile,
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

	testutil.Poll(t, 10*time.Second, "store ready (GET and INFO on the replica)", func(context.Context) error {
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
	// The press is confirmed just after its answer; until then a second
	// press gets the first one's answer again (the confirm script runs
	// within the ACL too), never a second count.
	var tooSoon *store.TooSoonError
	testutil.Poll(t, 10*time.Second, "a second press refused as too soon", func(context.Context) error {
		again, err := s.IncrementSession(ctx, token)
		switch {
		case errors.As(err, &tooSoon):
			return nil
		case err != nil:
			return err
		case !again.Earlier || again.Value != v:
			t.Fatalf("second IncrementSession = %+v, want the first press (value %d) again or TooSoonError", again, v)
		}
		return errors.New("answered with the first press, not yet confirmed")
	})
	testutil.Poll(t, 10*time.Second, "the press reaches the replica's subscriber", func(context.Context) error {
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
	testutil.Poll(t, 10*time.Second, "session gone on the replica too", func(ctx context.Context) error {
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
