package store_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

// A replica restarted from an old snapshot while its master moved on must not
// hand its old value out as current: neither to a store that served a newer
// value before the restart, nor to one opened after it (a restarted node's
// counterd), until the replica has synced with its master.
func TestRestartedReplicaOldSnapshotNeverServed(t *testing.T) {
	master := redistest.Start(t, redistest.WithArgs("--repl-ping-replica-period", "1"))
	// Configured as a replica, as a provisioned node is, so it comes back as one.
	replica := redistest.Start(t, redistest.WithArgs("--replicaof", "127.0.0.1", portOf(t, master.Addr())))
	if err := replica.WaitLinkUp(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	running := openStore(t, replica, master, nil)
	key := running.ValueKey()
	ctx := context.Background()

	setAndWait := func(v int64) {
		t.Helper()
		master.Do("SET", key, v)
		testutil.Eventually(t, 10*time.Second, "the store reads "+strconv.FormatInt(v, 10), func() bool {
			got, _ := running.Value()
			return got == v
		})
	}
	setAndWait(5)
	replica.Do("SAVE") // the snapshot the replica will reload: 5
	setAndWait(10)

	// The master stops answering, so the restarted replica cannot sync: it
	// holds only its snapshot, and Redis serves it (replica-serve-stale-data).
	master.Pause()
	t.Cleanup(master.Resume)
	replica.Restart()
	if got, err := replica.Client().Get(ctx, key).Int64(); err != nil || got != 5 {
		t.Fatalf("restarted replica GET = %d, %v; want its snapshot's 5", got, err)
	}
	fresh := openStore(t, replica, master, nil)
	// Both stores poll the restarted replica a few times while it is unsynced.
	for _, s := range []*env{running, fresh} {
		n := s.Polls()
		testutil.Eventually(t, 10*time.Second, "the store polls the restarted replica", func() bool { return s.Polls() >= n+3 })
	}
	if got, _ := running.Value(); got < 10 {
		t.Errorf("store that had served 10 serves %d from the unsynced replica", got)
	}
	if got, confirmed := fresh.Value(); fresh.Ready() || !confirmed.IsZero() {
		t.Errorf("store opened on the unsynced replica: Ready %v, value %d confirmed %v; want no value yet", fresh.Ready(), got, confirmed)
	}

	master.Resume()
	master.Do("SET", key, 11)
	for name, s := range map[string]*env{"running": running, "fresh": fresh} {
		testutil.Eventually(t, 20*time.Second, name+" store reads 11 after the sync", func() bool {
			got, _ := s.Value()
			return got == 11
		})
	}
	for name, s := range map[string]*env{"running": running, "fresh": fresh} {
		if vals := s.changes.all(); !nonDecreasing(vals) {
			t.Errorf("%s store reported %v: the value went back", name, vals)
		}
	}
}

func portOf(t testing.TB, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func (c *changes) all() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.vals...)
}

func nonDecreasing(vals []int64) bool {
	for i := 1; i < len(vals); i++ {
		if vals[i] < vals[i-1] {
			return false
		}
	}
	return true
}
