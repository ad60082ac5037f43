package store_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/daemon/store"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// fastHash keeps integration tests quick; hash_test.go covers the defaults.
var fastHash = store.HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

// env is a Store under test plus what it reported.
type env struct {
	*store.Store
	changes   *changes
	logs      *testutil.Buffer
	redisErrs *counter
}

// openStore opens a Store on local (and master, if not nil), closed at test end.
func openStore(t testing.TB, local, master *redistest.Server, edit func(*store.Options)) *env {
	t.Helper()
	e := &env{changes: &changes{}, logs: &testutil.Buffer{}, redisErrs: &counter{}}
	o := store.Options{
		LocalURL:     local.URL(),
		PollInterval: 100 * time.Millisecond,
		Hash:         fastHash,
		Logger:       slog.New(slog.NewTextHandler(e.logs, nil)),
		OnChange:     e.changes.add,
		OnRedisError: func(string, error) { e.redisErrs.inc() },
	}
	if master != nil {
		o.MasterURL = master.URL()
	}
	if edit != nil {
		edit(&o)
	}
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("store log:\n%s", e.logs.String())
		}
	})
	e.Store = s
	return e
}

// startPair starts a master (pinging its replicas every second, so the
// replica's confirmed time stays tight) and a replica of it.
func startPair(t testing.TB) (master, replica *redistest.Server) {
	t.Helper()
	master = redistest.Start(t, redistest.WithArgs("--repl-ping-replica-period", "1"))
	replica = redistest.Start(t)
	replica.ReplicaOf(master)
	return master, replica
}

func waitValue(t testing.TB, s *env, want int64) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, "Value() = "+strconv.FormatInt(want, 10), func() bool {
		v, _ := s.Value()
		return v == want
	})
}

// changes records OnChange calls.
type changes struct {
	mu   sync.Mutex
	vals []int64
}

func (c *changes) add(v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals = append(c.vals, v)
}

func (c *changes) seen(v int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range c.vals {
		if x == v {
			return true
		}
	}
	return false
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func TestMain(m *testing.M) {
	// go-redis logs each failed dial to stderr; the outage tests cause many.
	redis.SetLogger(store.RedisLogger{Logger: slog.New(slog.DiscardHandler)})
	os.Exit(m.Run())
}
