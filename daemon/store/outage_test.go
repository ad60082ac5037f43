package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redisinfo"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// TestMasterKilled: writes fail fast with ErrMasterUnavailable while reads,
// Ping and sessions keep working from the replica.
func TestMasterKilled(t *testing.T) {
	master, replica := startPair(t)
	s := openStore(t, replica, master, nil)
	if err := s.Register(bg, "frank", "frank-password"); err != nil {
		t.Fatal(err)
	}
	tok, err := s.NewSession(bg, "frank")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IncrementSession(bg, tok); err != nil {
		t.Fatal(err)
	}
	waitValue(t, s, 1)
	// The replica must hold the session and user before the master dies.
	testutil.Eventually(t, 5*time.Second, "session and user on the replica", func() bool {
		c := replica.Client()
		return c.Exists(bg, "counter:session:"+store.TokenHash(tok), s.UserKey("frank")).Val() == 2
	})
	if err := s.Register(bg, "grace", "grace-password"); err != nil {
		t.Fatal(err)
	}
	graceTok, err := s.NewSession(bg, "grace")
	if err != nil {
		t.Fatal(err)
	}

	master.Kill()

	start := time.Now()
	_, err = s.IncrementSession(bg, graceTok)
	took := time.Since(start)
	t.Logf("IncrementSession with the master killed failed after %s", took)
	// A bound, not a latency target: without the store's timeout, go-redis
	// waits its own 3 s default read timeout, so anything below that shows
	// the option applied, with room for a loaded CI machine.
	if took >= goRedisDefaultTimeout {
		t.Errorf("IncrementSession with the master down took %s, want less than go-redis' default %s", took, goRedisDefaultTimeout)
	}
	// Connection refused on the last try does not prove the script was never
	// written (go-redis retries once after a broken pooled connection), so the
	// press is reported as unknown, not as failed.
	if !errors.Is(err, store.ErrOutcomeUnknown) || !errors.Is(err, store.ErrMasterUnavailable) {
		t.Fatalf("IncrementSession with the master down = %v, want ErrOutcomeUnknown and ErrMasterUnavailable", err)
	}
	if err := s.DeleteSession(bg, tok); !errors.Is(err, store.ErrSessionEndQueued) {
		t.Errorf("DeleteSession with the master down = %v, want ErrSessionEndQueued", err)
	}
	if _, err := s.SessionLogin(bg, tok); !errors.Is(err, store.ErrNoSession) {
		t.Errorf("SessionLogin of a session whose logout is queued = %v, want ErrNoSession", err)
	}
	for name, write := range map[string]func() error{
		"Register": func() error { return s.Register(bg, "heidi", "heidi-password") },
		"NewSession": func() error {
			_, err := s.NewSession(bg, "frank")
			return err
		},
	} {
		if err := write(); !errors.Is(err, store.ErrMasterUnavailable) {
			t.Errorf("%s with the master down = %v, want ErrMasterUnavailable", name, err)
		}
	}

	if err := s.Ping(bg); err != nil {
		t.Fatalf("Ping (local replica) with the master down: %v", err)
	}
	if login, err := s.SessionLogin(bg, graceTok); err != nil || login != "grace" {
		t.Fatalf("SessionLogin from the replica = %q, %v; want grace", login, err)
	}
	if err := s.Authenticate(bg, "frank", "frank-password"); err != nil {
		t.Fatalf("Authenticate from the replica: %v", err)
	}
	if _, err := s.SessionLogin(bg, "unknown"); !errors.Is(err, store.ErrMasterUnavailable) {
		t.Fatalf("SessionLogin(miss on replica, master down) = %v, want ErrMasterUnavailable", err)
	}

	// The replica notices the dead link; from then on confirmed stops.
	testutil.Eventually(t, 10*time.Second, "replica reports master_link_status:down", func() bool {
		return redisinfo.Parse(replica.Client().Info(bg, "replication").Val())["master_link_status"] == "down"
	})
	v, frozen := s.Value()
	if v != 1 {
		t.Fatalf("Value() with the master down = %d, want 1 from the replica", v)
	}
	// Watch several polls (100ms apart) go by: confirmed must not advance.
	until := time.Now().Add(time.Second)
	for time.Now().Before(until) {
		if _, c := s.Value(); c.After(frozen) {
			t.Fatalf("confirmed advanced from %v to %v with the master link down", frozen, c)
		}
		time.Sleep(20 * time.Millisecond) // sampling interval
	}
}

// TestLocalRestart: the store survives a restart of its Redis: the poll and
// the subscription resume, and each outage is logged once, not per poll.
func TestLocalRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.WithPersistence())
	s := openStore(t, srv, nil, nil)
	if err := s.Register(bg, "ivan", "ivan-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IncrementLogin(bg, "ivan"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, s, 1)

	srv.Kill()
	// Let the poller fail a few times (each failure reaches OnRedisError).
	errsBefore := s.redisErrs.get()
	testutil.Eventually(t, 5*time.Second, "poll failures reported", func() bool { return s.redisErrs.get() >= errsBefore+5 })
	if err := s.Ping(bg); err == nil {
		t.Fatal("Ping succeeded with Redis killed")
	}
	if v, _ := s.Value(); v != 1 {
		t.Fatalf("Value() with Redis down = %d, want the last known 1", v)
	}
	srv.Restart()

	// The subscription is back when a bare PUBLISH reaches OnChange again.
	testutil.Eventually(t, 10*time.Second, "OnChange after a PUBLISH following the restart", func() bool {
		srv.Do("PUBLISH", s.Channel(), 777)
		return s.changes.seen(777)
	})
	// go-redis stops dialling after repeated failures and probes once a
	// second, so writes may fail for up to a second after Redis is back.
	testutil.Eventually(t, 5*time.Second, "Ping after restart", func() bool { return s.Ping(bg) == nil })
	if err := s.Register(bg, "judy", "judy-password"); err != nil {
		t.Fatal(err)
	}
	p, err := s.IncrementLogin(bg, "judy")
	if err != nil || p.Value != 2 {
		t.Fatalf("IncrementLogin after restart = %+v, %v; want value 2 (data kept by AOF)", p, err)
	}
	testutil.Eventually(t, 5*time.Second, "OnChange(2) after restart", func() bool { return s.changes.seen(2) })
	waitValue(t, s, 2)
	_, confirmed := s.Value()
	if age := time.Since(confirmed); age > 2*time.Second {
		t.Fatalf("confirmed is %s old after recovery", age)
	}

	testutil.Eventually(t, 5*time.Second, "recovery logged", func() bool {
		return strings.Count(s.logs.String(), "local redis poll recovered") == 1
	})
	logs := s.logs.String()
	if n := strings.Count(logs, "local redis poll failing"); n != 1 {
		t.Errorf("poll outage logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "local redis subscription failing"); n != 1 {
		t.Errorf("subscription outage logged %d times, want once:\n%s", n, logs)
	}
}

// goRedisDefaultTimeout is go-redis' read timeout when none is set: a write
// that takes this long did not use the store's timeout.
const goRedisDefaultTimeout = 3 * time.Second

// TestMasterFrozen: a master that accepts connections but never answers
// (SIGSTOP, like a silent network) costs a write the command timeout, no more.
func TestMasterFrozen(t *testing.T) {
	master, replica := startPair(t)
	const timeout = 300 * time.Millisecond
	s := openStore(t, replica, master, func(o *store.Options) { o.Timeout = timeout })
	if err := s.Register(bg, "mia", "mia-password"); err != nil {
		t.Fatal(err)
	}
	tok, err := s.NewSession(bg, "mia")
	if err != nil {
		t.Fatal(err)
	}
	master.Pause()
	defer master.Resume()

	start := time.Now()
	_, err = s.IncrementSession(bg, tok)
	took := time.Since(start)
	t.Logf("IncrementSession with the master frozen failed after %s", took)
	// The script sits in the frozen master's socket: it may yet run.
	if !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("IncrementSession with the master frozen = %v, want ErrOutcomeUnknown", err)
	}
	if took < timeout/2 || took >= goRedisDefaultTimeout {
		t.Errorf("IncrementSession with the master frozen took %s, want at least half the %s timeout and less than go-redis' default %s", took, timeout, goRedisDefaultTimeout)
	}
	if err := s.Ping(bg); err != nil {
		t.Fatalf("Ping (replica) with the master frozen: %v", err)
	}
}
