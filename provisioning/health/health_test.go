package health

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
	"counter/provisioning/nagios"
	"counter/provisioning/probe"
	"counter/provisioning/raid"
)

func loadInventory(t *testing.T) *inventory.Inventory {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	inv, err := inventory.Load("../../inventory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestRunGolden(t *testing.T) {
	tests := []struct {
		name     string
		change   func(inv *inventory.Inventory, facts map[string]*probe.Facts, values map[string][]int64)
		nodes    []string
		warnOnly []string
		zones    map[string][]probe.Fact[uint32]
		want     nagios.State
	}{
		{name: "all-ok", want: nagios.OK},
		{name: "counterd-down", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, v map[string][]int64) {
			f["na"].Ready = probe.Fact[probe.HTTPAnswer]{Err: errRefused}
			f["na"].Value = probe.Fact[int64]{Err: errRefused}
		}},
		{name: "stale-replica", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, v map[string][]int64) {
			f["asia"].Ready.V = probe.HTTPAnswer{Code: 503, Body: "value is 12s old, more than --max-staleness 2s"}
			f["asia"].Redis.V.LinkUp, f["asia"].Redis.V.SinceMaster = false, 12
			v["asia"] = []int64{40}
		}},
		{name: "link-just-dropped", want: nagios.Warning, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			f["sa"].Redis.V.LinkUp, f["sa"].Redis.V.SinceMaster = false, 3
		}},
		{name: "lag-bytes", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			f["master"].Redis.V.Offset = 1000 + 20<<20
			f["oceania"].Redis.V.SinceMaster = 6
		}},
		{name: "value-catches-up", want: nagios.OK, change: func(_ *inventory.Inventory, _ map[string]*probe.Facts, v map[string][]int64) {
			v["master"] = []int64{42}
			v["africa"] = []int64{41, 41, 42}
		}},
		{name: "replica-unreachable", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, v map[string][]int64) {
			noSSH(f["africa"], errors.New("through the master: ssh 198.51.100.50:22 via 198.51.100.10:22: connect failed (Connect timed out)"))
			f["africa"].Ready = probe.Fact[probe.HTTPAnswer]{Err: errors.New("context deadline exceeded")}
			f["africa"].Value = probe.Fact[int64]{Err: errors.New("context deadline exceeded")}
		}},
		{name: "raid-degraded", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			f["mirror"].RAID.V.Report = &raid.Report{Severity: nagios.Critical, Summary: "md0 raid10 degraded: 3/4 devices, sdb1 failed", CheckedAt: testNow.Add(-time.Minute)}
		}},
		{name: "raid-warn-only", warnOnly: []string{CheckRAID}, want: nagios.Warning, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			f["mirror"].RAID.V.Report = &raid.Report{Severity: nagios.Critical, Summary: "md0 raid10 degraded", CheckedAt: testNow.Add(-time.Minute)}
		}},
		{name: "raid-stale-and-missing", want: nagios.Unknown, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			f["na"].RAID.V.Report.CheckedAt = testNow.Add(-2 * time.Hour)
			f["sa"].RAID.V = probe.RAIDState{Path: raid.DefaultStatePath, Missing: true}
		}},
		{name: "raid-none", want: nagios.OK, change: func(inv *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			inv.RAID = inventory.RAIDNone
			f["sa"].RAID.V = probe.RAIDState{Path: raid.DefaultStatePath, Missing: true}
		}},
		{name: "resources", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			f["master"].Redis.V.UsedMemory = 1200 << 20 // of 2 GiB: 58%
			f["na"].Disks.V[1].Avail = 1 << 30          // of 20 GiB: 5%
			f["sa"].Certs.V[0].NotAfter = testNow.Add(10 * 24 * time.Hour)
			f["asia"].Certs.V[0].NotAfter = testNow.Add(-time.Hour)
			f["oceania"].Clock.V = probe.Clock{Offset: -7 * time.Second, RTT: 600 * time.Millisecond}
		}},
		{name: "wrong-roles", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			f["mirror"].Redis.V = probe.RedisInfo{Version: "7.0.15", Role: "master", UsedMemory: 1 << 20}
			f["na"].Redis.V.MasterHost = "198.51.100.11"
		}},
		{name: "one-node", nodes: []string{"sa"}, want: nagios.OK},
		// dns.secondary: the primary at serial 7; na catches up within the
		// bound, oceania does not, africa's Knot never got the zone.
		{name: "dns-secondary", want: nagios.Critical, change: func(inv *inventory.Inventory, _ map[string]*probe.Facts, _ map[string][]int64) {
			inv.DNS.Secondary = true
		}, zones: map[string][]probe.Fact[uint32]{
			"198.51.100.20:53": {{V: 6}, {V: 6}, {V: 7}},
			"198.51.100.60:53": {{V: 6}},
			"198.51.100.50:53": {{Err: errors.New("SOA of counter.example.net. at 198.51.100.50:53: SERVFAIL, no SOA in the answer")}},
		}},
		{name: "dns-primary-unreachable", want: nagios.Unknown, change: func(inv *inventory.Inventory, _ map[string]*probe.Facts, _ map[string][]int64) {
			inv.DNS.Secondary = true
		}, zones: map[string][]probe.Fact[uint32]{
			"198.51.100.53:53": {{Err: errors.New("SOA of counter.example.net. at 198.51.100.53:53: dial tcp 198.51.100.53:53: i/o timeout")}},
		}},
		{name: "master-unreachable", want: nagios.Critical, change: func(_ *inventory.Inventory, f map[string]*probe.Facts, _ map[string][]int64) {
			noSSH(f["master"], errors.New("ssh 198.51.100.10:22: dial tcp 198.51.100.10:22: i/o timeout"))
			f["master"].Value = probe.Fact[int64]{Err: errors.New("context deadline exceeded")}
			for _, n := range []string{"na", "sa", "asia", "africa", "oceania"} {
				noSSH(f[n], errors.New("through the master: ssh 198.51.100.10:22: dial tcp 198.51.100.10:22: i/o timeout"))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := loadInventory(t)
			facts := map[string]*probe.Facts{}
			for _, n := range inv.Nodes {
				facts[n.Name] = healthy(inv, n)
			}
			values := map[string][]int64{}
			if tt.change != nil {
				tt.change(inv, facts, values)
			}
			p := &fakeProber{facts: facts, values: values, reads: map[string]int{}, zones: tt.zones}
			nodes, err := inv.Limit(tt.nodes)
			if err != nil {
				t.Fatal(err)
			}
			inv.Health.ValueStaleness = 200 * time.Millisecond
			r := Run(context.Background(), p, inv, Options{Nodes: nodes, WarnOnly: tt.warnOnly,
				Now: func() time.Time { return testNow }, PollEvery: time.Millisecond, ZoneLag: 200 * time.Millisecond})
			if r.State != tt.want || r.ExitCode() != tt.want.ExitCode() {
				t.Errorf("State = %s (exit %d), want %s", r.State, r.ExitCode(), tt.want)
			}
			var text, js bytes.Buffer
			if err := WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, r); err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", tt.name+".txt"), text.Bytes())
			testutil.Golden(t, filepath.Join("testdata", tt.name+".json"), js.Bytes())
		})
	}
}
