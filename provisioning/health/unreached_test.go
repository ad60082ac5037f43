package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/probe"
)

// TestUnreachedNodeIsNotReady: with the master dead, na's counterd still
// answers /readyz from its held value, but SSH to na (through the master)
// fails. The summary must not call a node it could not reach ready.
func TestUnreachedNodeIsNotReady(t *testing.T) {
	inv := loadInventory(t)
	facts := map[string]*probe.Facts{}
	for _, n := range inv.Nodes {
		facts[n.Name] = healthy(inv, n)
	}
	noSSH(facts["master"], errors.New("ssh 198.51.100.10:22: dial tcp 198.51.100.10:22: i/o timeout"))
	facts["master"].Ready = probe.Fact[probe.HTTPAnswer]{Err: errRefused}
	facts["master"].Value = probe.Fact[int64]{Err: errRefused}
	noSSH(facts["na"], errors.New("through the master: ssh 198.51.100.10:22: dial tcp 198.51.100.10:22: i/o timeout"))
	na, _ := inv.Node("na")
	inv.Health.ValueStaleness = 200 * time.Millisecond
	r := Run(context.Background(), &fakeProber{facts: facts, values: map[string][]int64{}, reads: map[string]int{}}, inv,
		Options{Nodes: []inventory.Node{na}, Now: func() time.Time { return testNow }, PollEvery: time.Millisecond})
	if r.NodesReady != 0 {
		t.Errorf("NodesReady = %d, want 0: na's SSH was unreachable", r.NodesReady)
	}
	if want := "0/1 nodes ready (1 unreachable)"; !strings.Contains(r.Summary, want) {
		t.Errorf("Summary = %q, want it to say %q", r.Summary, want)
	}
}
