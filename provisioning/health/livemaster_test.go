package health

import (
	"context"
	"testing"
	"time"

	"counter/provisioning/nagios"
	"counter/provisioning/probe"
)

// TestRunAfterSwitchover: the mirror is master, the inventory's master and
// the replicas follow it. Health judges redis-role against the mirror,
// takes the mirror's value as the reference, and the cluster is OK.
func TestRunAfterSwitchover(t *testing.T) {
	inv := loadInventory(t)
	facts := map[string]*probe.Facts{}
	for _, n := range inv.Nodes {
		facts[n.Name] = healthy(inv, n)
		facts[n.Name].Redis.V.MasterHost = "198.51.100.11"
		facts[n.Name].Sentinel.V.Master = "198.51.100.11:6380"
	}
	facts["mirror"].Redis.V = probe.RedisInfo{Version: "7.0.15", Role: "master", Offset: 1000, ConnectedReplicas: 6, UsedMemory: 2 << 20}
	facts["master"].Redis.V = probe.RedisInfo{Version: "7.0.15", Role: "slave", MasterHost: "198.51.100.11", MasterPort: 6380,
		LinkUp: true, SinceMaster: 1, Offset: 1000, UsedMemory: 2 << 20}
	// The old master's value trails: were it the reference, nobody would fail.
	values := map[string][]int64{"mirror": {50}, "master": {42}}
	p := &fakeProber{facts: facts, values: values, reads: map[string]int{}}
	inv.Health.ValueStaleness = 200 * time.Millisecond
	r := Run(context.Background(), p, inv, Options{Now: func() time.Time { return testNow }, PollEvery: time.Millisecond})
	if r.Master != "mirror" {
		t.Errorf("Master = %q, want mirror", r.Master)
	}
	for _, res := range r.Results {
		if res.Check == CheckRedisRole && res.State != nagios.OK {
			t.Errorf("%s: redis-role %s: %s; want OK after the switchover", res.Node, res.State, res.Message)
		}
		if res.Check == CheckValue && res.Node == "master" && res.State == nagios.OK {
			t.Errorf("master's value 42 passed though the live master (mirror) has 50: the reference is not the live master")
		}
	}
}
