package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"counter/provisioning/nagios"
	"counter/provisioning/probe"
)

// TestSentinelCheck: the sentinel check is OK only when the node's
// sentinel answers, names the live master and CKQUORUM holds.
func TestSentinelCheck(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(map[string]*probe.Facts)
		node   string
		want   nagios.State
		msg    string
	}{
		{"healthy", func(map[string]*probe.Facts) {}, "na", nagios.OK, "names master (198.51.100.10:6380); OK 7 usable"},
		{"names another master against the majority", func(f map[string]*probe.Facts) {
			f["sa"].Sentinel.V.Master = "198.51.100.11:6380"
		}, "sa", nagios.Critical, "names 198.51.100.11:6380 as master, the live master is master"},
		{"no quorum", func(f map[string]*probe.Facts) {
			f["asia"].Sentinel.V.QuorumErr = errors.New("CKQUORUM: NOQUORUM 3 usable Sentinels. Not enough available Sentinels to reach the majority and authorize a failover")
		}, "asia", nagios.Critical, "NOQUORUM 3 usable"},
		{"sentinel down", func(f map[string]*probe.Facts) {
			f["africa"].Sentinel = probe.Fact[probe.SentinelView]{Err: errors.New("sentinel: Could not connect to Redis at 127.0.0.1:26379: Connection refused")}
		}, "africa", nagios.Critical, "no answer: sentinel: Could not connect"},
		{"no ssh", func(f map[string]*probe.Facts) { noSSH(f["oceania"], errors.New("timeout")) }, "oceania", nagios.Unknown, "no SSH"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv := loadInventory(t)
			facts := map[string]*probe.Facts{}
			for _, n := range inv.Nodes {
				facts[n.Name] = healthy(inv, n)
			}
			tt.change(facts)
			p := &fakeProber{facts: facts, values: map[string][]int64{}, reads: map[string]int{}}
			r := Run(context.Background(), p, inv, Options{Now: func() time.Time { return testNow }, PollEvery: time.Millisecond})
			for _, res := range r.Results {
				if res.Check == CheckSentinel && res.Node == tt.node {
					if res.State != tt.want || !strings.Contains(res.Message, tt.msg) {
						t.Errorf("%s: sentinel %s %q, want %s containing %q", tt.node, res.State, res.Message, tt.want, tt.msg)
					}
					return
				}
			}
			t.Fatalf("no sentinel result for %s", tt.node)
		})
	}
}
