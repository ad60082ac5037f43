package store_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/daemon/store"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

var bg = context.Background()

// TestValueComesFromLocal proves reads use the local node: local and master
// are unrelated servers holding different values.
func TestValueComesFromLocal(t *testing.T) {
	local, master := redistest.Start(t), redistest.Start(t)
	local.Do("SET", "counter:value", 7)
	master.Do("SET", "counter:value", 100)
	s := openStore(t, local, master, nil)
	waitValue(t, s, 7)
	if _, confirmed := s.Value(); confirmed.IsZero() {
		t.Fatal("confirmed is zero after a read from a master-role local node")
	}
	local.Do("SET", "counter:value", 8) // no PUBLISH: the poll must find it
	waitValue(t, s, 8)
}

// TestReplicaRelaysPublish proves the subscription on the replica sees the
// master's PUBLISH: the store never talks to the master for reads.
func TestReplicaRelaysPublish(t *testing.T) {
	master, replica := startPair(t)
	s := openStore(t, replica, master, func(o *store.Options) { o.PollInterval = time.Second })
	testutil.Eventually(t, 5*time.Second, "first read", s.Ready)
	// A value no key holds, so only the message can bring it.
	master.Do("PUBLISH", s.Channel(), 424242)
	testutil.Eventually(t, 5*time.Second, "OnChange(424242) via the replica", func() bool { return s.changes.seen(424242) })

	_, confirmed := s.Value()
	if age := time.Since(confirmed); age < 0 || age > 3*time.Second {
		t.Fatalf("confirmed %v is %s old, want within 3s of now", confirmed, age)
	}
}

func TestRegisterSessionIncrement(t *testing.T) {
	master, replica := startPair(t)
	// A generous timeout: Register's WAIT gets 3/4 of it, and on a loaded
	// machine the default 500 ms let the replica miss the user, which is
	// the best-effort case this test is not about.
	s := openStore(t, replica, master, func(o *store.Options) { o.SessionTTL, o.Timeout = time.Hour, 5*time.Second })
	mc := master.Client()

	if err := s.Register(bg, "alice", "alice-password"); err != nil {
		t.Fatalf("Register: %v", err)
	}
	// Authenticate reads the replica only; Register has waited (WAIT) until
	// the replica has the user, so it is found at once.
	if err := s.Authenticate(bg, "alice", "alice-password"); err != nil {
		t.Fatalf("Authenticate(right password): %v", err)
	}
	if err := s.Register(bg, "alice", "other"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("Register(alice again) = %v, want ErrExists", err)
	}
	for _, tc := range []struct{ name, login, password string }{
		{"wrong password", "alice", "alice-passwordX"},
		{"unknown login", "bob", "alice-password"},
		{"empty login", "", "x"},
	} {
		if err := s.Authenticate(bg, tc.login, tc.password); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("Authenticate(%s) = %v, want ErrBadCredentials", tc.name, err)
		}
	}
	rec := mc.HGetAll(bg, s.UserKey("alice")).Val()
	if h := rec["hash"]; !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, "alice-password") {
		t.Fatalf("stored hash = %q, want an argon2id PHC string without the password", h)
	}

	tok, err := s.NewSession(bg, "alice")
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	if login, err := s.SessionLogin(bg, tok); err != nil || login != "alice" {
		t.Fatalf("SessionLogin = %q, %v; want alice", login, err)
	}
	// Redis holds the token's sha256, never the token.
	keys := mc.Keys(bg, "*").Val()
	for _, k := range keys {
		if strings.Contains(k, tok) {
			t.Fatalf("key %q contains the raw token", k)
		}
	}
	if ttl := mc.TTL(bg, "counter:session:"+store.TokenHash(tok)).Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Fatalf("session TTL = %s, want about 1h", ttl)
	}

	p, err := s.IncrementSession(bg, tok)
	if err != nil || p.Value != 1 || p.Earlier {
		t.Fatalf("IncrementSession = %+v, %v; want value 1, not Earlier", p, err)
	}
	if d := time.Since(p.At); d < -5*time.Second || d > 5*time.Second {
		t.Errorf("Press.At = %v, want about now (Redis TIME)", p.At)
	}
	waitValue(t, s, 1)
	testutil.Eventually(t, 5*time.Second, "OnChange(1)", func() bool { return s.changes.seen(1) })
	last, err := mc.HGet(bg, s.UserKey("alice"), store.FieldLastIncrement).Int64()
	if now := time.Now().UnixMicro(); err != nil || last > now || now-last > 5e6 {
		t.Fatalf("%s = %d, %v; want Redis TIME in µs close to %d", store.FieldLastIncrement, last, err, now)
	}

	s.WaitConfirms()
	_, err = s.IncrementSession(bg, tok)
	var soon *store.TooSoonError
	if !errors.As(err, &soon) || soon.RetryAfter < 23*time.Hour || soon.RetryAfter > 24*time.Hour {
		t.Fatalf("second IncrementSession = %v, want TooSoonError with RetryAfter just under 24h", err)
	}
	if !regexp.MustCompile(`next press allowed in (23h59m[0-9]+s|24h0m0s)$`).MatchString(soon.Error()) {
		t.Errorf("TooSoonError.Error() = %q, want it to say when", soon.Error())
	}

	// Per-request auth mode: the same script, by login.
	if err := s.Register(bg, "carol", "carol-password"); err != nil {
		t.Fatal(err)
	}
	if p, err := s.IncrementLogin(bg, "carol"); err != nil || p.Value != 2 {
		t.Fatalf("IncrementLogin(carol) = %+v, %v; want value 2, nil", p, err)
	}
	if _, err := s.IncrementLogin(bg, "nobody"); !errors.Is(err, store.ErrBadCredentials) {
		t.Fatalf("IncrementLogin(nobody) = %v, want ErrBadCredentials", err)
	}
	waitValue(t, s, 2)

	if err := s.DeleteSession(bg, tok); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.SessionLogin(bg, tok); !errors.Is(err, store.ErrNoSession) {
		t.Fatalf("SessionLogin after logout = %v, want ErrNoSession", err)
	}
	for _, bad := range []string{tok, "", "forged-token"} {
		if _, err := s.IncrementSession(bg, bad); !errors.Is(err, store.ErrNoSession) {
			t.Fatalf("IncrementSession(%q) = %v, want ErrNoSession", bad, err)
		}
	}
}

// TestRehashOnLogin: hashes made with old parameters are upgraded at login.
func TestRehashOnLogin(t *testing.T) {
	srv := redistest.Start(t)
	old := openStore(t, srv, nil, nil)
	if err := old.Register(bg, "dave", "dave-password"); err != nil {
		t.Fatal(err)
	}
	stronger := store.HashParams{Time: 2, MemoryKiB: 128, Threads: 1}
	s := openStore(t, srv, nil, func(o *store.Options) { o.Hash = stronger })
	if err := s.Authenticate(bg, "dave", "dave-password"); err != nil {
		t.Fatalf("Authenticate with old-parameter hash: %v", err)
	}
	h := srv.Do("HGET", s.UserKey("dave"), "hash").(string)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Fatalf("hash after login = %q, want it upgraded to m=128,t=2", h)
	}
	if err := s.Authenticate(bg, "dave", "dave-password"); err != nil {
		t.Fatalf("Authenticate with upgraded hash: %v", err)
	}
}

// TestScriptPublishReachesReplica: the increment script's PUBLISH on the
// master is relayed to subscribers on the replica, which is what the store's
// subscription (TestReplicaRelaysPublish) consumes.
func TestScriptPublishReachesReplica(t *testing.T) {
	master, replica := startPair(t)
	s := openStore(t, replica, master, nil)
	sub := replica.Client().Subscribe(bg, s.Channel())
	defer sub.Close()
	if _, err := sub.ReceiveTimeout(bg, 5*time.Second); err != nil { // the subscribe confirmation
		t.Fatal(err)
	}
	if err := s.Register(bg, "kim", "kim-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IncrementLogin(bg, "kim"); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.ReceiveTimeout(bg, 5*time.Second)
	if m, ok := msg.(*redis.Message); err != nil || !ok || m.Payload != "1" {
		t.Fatalf("replica subscriber got %#v, %v; want message 1", msg, err)
	}
}

// TestWritesToReplicaAreUnavailable: a master URL that points at a replica
// (say, after a failover demoted it) makes writes ErrMasterUnavailable.
func TestWritesToReplicaAreUnavailable(t *testing.T) {
	master, replica := startPair(t)
	s := openStore(t, replica, replica, nil)
	if err := s.Register(bg, "leo", "leo-password"); !errors.Is(err, store.ErrMasterUnavailable) {
		t.Fatalf("Register on a replica = %v, want ErrMasterUnavailable", err)
	}
	// The user exists (via the real master), so the script gets to its writes.
	master.Do("HSET", s.UserKey("leo"), "hash", "x")
	testutil.Eventually(t, 5*time.Second, "user replicated", func() bool {
		return replica.Client().Exists(bg, s.UserKey("leo")).Val() == 1
	})
	_, err := s.IncrementLogin(bg, "leo")
	if !errors.Is(err, store.ErrMasterUnavailable) {
		t.Fatalf("IncrementLogin on a replica = %v, want ErrMasterUnavailable", err)
	}
}

// TestTLSClientCertificate: a Redis that demands client certificates (as the
// cluster's nodes do) refuses a store without one and serves one with it.
func TestTLSClientCertificate(t *testing.T) {
	srv := redistest.Start(t, redistest.WithClientCerts())
	bare := "rediss://" + srv.Addr() + "/0"
	// Opened by hand: closing a connection the server refused reports a TLS
	// error, which openStore's cleanup would count as a failure.
	without, err := store.Open(bg, store.Options{LocalURL: bare, CAFile: srv.CAFile(), Hash: fastHash})
	if err != nil {
		t.Fatal(err)
	}
	defer without.Close()
	if err := without.Ping(bg); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("Ping without a client certificate = %v, want the server's 'certificate required'", err)
	}
	with := openStore(t, srv, nil, func(o *store.Options) {
		o.LocalURL, o.CAFile, o.CertFile, o.KeyFile = bare, srv.CAFile(), srv.CertFile(), srv.KeyFile()
	})
	if err := with.Ping(bg); err != nil {
		t.Fatalf("Ping with the client certificate: %v", err)
	}
}

// TestTLSAndPasswordOption: rediss:// with a private CA, the password given
// apart from the URL (as from a file), and a wrong CA refused.
func TestTLSAndPasswordOption(t *testing.T) {
	srv := redistest.Start(t, redistest.WithTLS(), redistest.WithPassword("tls-secret"))
	bare := "rediss://" + srv.Addr() + "/0"
	s := openStore(t, srv, nil, func(o *store.Options) {
		o.LocalURL, o.Password, o.CAFile = bare, "tls-secret", srv.CAFile()
	})
	if err := s.Ping(bg); err != nil {
		t.Fatalf("Ping over TLS: %v", err)
	}
	if err := s.Register(bg, "nina", "nina-password"); err != nil {
		t.Fatal(err)
	}
	if p, err := s.IncrementLogin(bg, "nina"); err != nil || p.Value != 1 {
		t.Fatalf("IncrementLogin over TLS = %+v, %v; want value 1", p, err)
	}
	waitValue(t, s, 1)

	other := redistest.Start(t, redistest.WithTLS())
	untrusted := openStore(t, srv, nil, func(o *store.Options) {
		o.LocalURL, o.Password, o.CAFile = bare, "tls-secret", other.CAFile()
	})
	err := untrusted.Ping(bg)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Ping with a CA that did not sign the server = %v, want a certificate error", err)
	}
	if strings.Contains(untrusted.logs.String(), "tls-secret") || strings.Contains(s.logs.String(), "tls-secret") {
		t.Fatal("the password appears in the store's log")
	}
}
