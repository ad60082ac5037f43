package steps

import (
	"context"
	"testing"

	"counter/provisioning/phase"
)

// TestPrefetch: a prefetched host answers its steps' reads without asking
// the node again, so a replica's batch can cross the WAN while the master
// and mirror run their steps.
func TestPrefetch(t *testing.T) {
	h := newFake("na", "slave")
	b := NewBatched(h, Reads(), nil)
	b.Prefetch(context.Background())
	if h.st.queries != 1 {
		t.Fatalf("Prefetch ran %d commands, want 1 batch", h.st.queries)
	}
	if _, err := b.Query(context.Background(), "dpkg", "--print-architecture"); err != nil {
		t.Fatal(err)
	}
	if h.st.queries != 1 {
		t.Errorf("after Prefetch the node was asked %d times, want only the batch", h.st.queries)
	}
}

// TestReplicationAsksLive: an answer fetched before the master's steps ran
// may be stale, so the replication step asks Redis itself. Here the link
// went down after the prefetch: the step must not report ok.
func TestReplicationAsksLive(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	h := hosts["na"]
	h.st.units[redisUnit] = &[2]bool{true, true}
	b := NewBatched(h, Reads(), nil)
	b.Prefetch(context.Background())
	h.st.mu.Lock()
	h.st.link = "down"
	h.st.mu.Unlock()
	if res, err := (Replication{c: c}).Run(context.Background(), b); err == nil {
		t.Errorf("replication = %v with the link down now, want an error", res.Status)
	}
}

// TestPackagesAreHostLocal: the two slow steps that need no other node run
// on every node at once (phase.HostLocal), and lead the list, where the
// runner looks for them.
func TestPackagesAreHostLocal(t *testing.T) {
	all := All(&Cluster{})
	for i, s := range all[:2] {
		if _, ok := s.(phase.HostLocal); !ok {
			t.Errorf("step %d %q is not HostLocal", i, s.Title())
		}
	}
	for _, s := range all[2:] {
		if _, ok := s.(phase.HostLocal); ok {
			t.Errorf("%q is HostLocal, want only the package steps", s.Title())
		}
	}
}
