//go:build !node

package ctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/health"
	"counter/provisioning/inventory"
	"counter/provisioning/nagios"
	"counter/provisioning/redisconf"
	"counter/provisioning/sentinel"
	"counter/provisioning/steps"
)

// checkSentinelFailover: after provision from bare every node's sentinel
// names the master with a quorum, health's sentinel check is OK and
// status shows each sentinel's view. Then the master is killed: the
// sentinels promote the mirror (the time is logged). The old master is
// started again and Sentinel makes it a replica; a provision run then
// names the mirror from the sentinels, restarts no Redis and no Sentinel,
// and leaves Sentinel's sentinel.conf naming the mirror. counterd still
// has a fixed master: URL until it follows Sentinel itself, so provision
// may restart it here. It runs last: it leaves the mirror master.
func checkSentinelFailover(t *testing.T, e *e2e, inv *inventory.Inventory) {
	master := inv.Master()
	mirror, ok := inv.Mirror()
	if !ok {
		t.Skip("the lab inventory has no mirror")
	}
	addr := func(n inventory.Node) string { return net.JoinHostPort(n.Address, strconv.Itoa(redisconf.DefaultPort)) }

	// Before: every sentinel names the master and has its quorum.
	js, err := e.run(time.Minute, "status", "-i", e.inv, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ss []struct {
		Node           string
		Sentinel       string
		SentinelQuorum string `json:"sentinel_quorum"`
	}
	if err := json.Unmarshal([]byte(js), &ss); err != nil {
		t.Fatalf("status --output json: %v\n%s", err, js)
	}
	for _, s := range ss {
		if s.Sentinel != master.Name || !strings.HasPrefix(s.SentinelQuorum, "OK ") {
			t.Errorf("status: %s's sentinel names %q with CKQUORUM %q; want %s and OK", s.Node, s.Sentinel, s.SentinelQuorum, master.Name)
		}
	}
	js, _ = e.run(2*time.Minute, "health", "-i", e.inv, "--timeout", "60s", "--output", "json")
	var rep health.Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("health --output json: %v\n%s", err, js)
	}
	for _, r := range rep.Results {
		if r.Check == health.CheckSentinel && r.State != nagios.OK {
			t.Errorf("health: %s sentinel %s: %s", r.Node, r.State, r.Message)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Kill the master; a sentinel on another continent names the mirror.
	var watcher inventory.Node
	for _, n := range inv.Ordered() {
		if n.Role == inventory.RoleReplica {
			watcher = n
			break
		}
	}
	start := time.Now()
	if _, err := e.lab(time.Minute, "kill", master.Name); err != nil {
		t.Fatal(err)
	}
	c := connector(t, inv) // a new one: the old links ran through the master
	wh, err := c.Host(t.Context(), watcher)
	if err != nil {
		t.Fatal(err)
	}
	ask := sentinel.Client{Where: sentinel.Provisioned(), Run: func(ctx context.Context, argv []string) ([]byte, error) {
		return wh.Query(ctx, argv...)
	}}
	testutil.Poll(t, time.Minute, watcher.Name+"'s sentinel names "+mirror.Name, func(ctx context.Context) error {
		got, err := ask.MasterAddr(ctx, inv.Cluster)
		if err == nil && got != addr(mirror) {
			err = fmt.Errorf("names %s", got)
		}
		return err
	})
	t.Logf("lab kill %s to %s's sentinel naming %s: %.1f s", master.Name, watcher.Name, mirror.Name, time.Since(start).Seconds())

	// The old master comes back: Sentinel makes it a replica of the mirror.
	if _, err := e.lab(3*time.Minute, "start", master.Name); err != nil {
		t.Fatal(err)
	}
	c = connector(t, inv)
	mh, err := c.Host(t.Context(), master)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Poll(t, 2*time.Minute, master.Name+" follows "+mirror.Name, func(ctx context.Context) error {
		f, err := steps.ReplicationInfo(ctx, mh)
		if err == nil && (f["role"] != "slave" || f["master_host"] != mirror.Address) {
			err = fmt.Errorf("role:%s master_host:%s", f["role"], f["master_host"])
		}
		return err
	})

	before := servicePIDs(t, e, inv, "redis-server.service", "redis-sentinel.service")
	out, _, err := e.provision(10 * time.Minute)
	t.Logf("provision after the failover:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "master: "+mirror.Name+", from the sentinels") {
		t.Errorf("provision did not find %s master from the sentinels", mirror.Name)
	}
	after := servicePIDs(t, e, inv, "redis-server.service", "redis-sentinel.service")
	for name, pids := range before {
		if after[name] != pids {
			t.Errorf("%s: redis-server, redis-sentinel MainPID %s before provision, %s after: provision restarted one", name, pids, after[name])
		}
	}
	for _, n := range inv.Ordered() {
		h, err := c.Host(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := steps.ReplicationInfo(t.Context(), h)
		switch {
		case err != nil:
			t.Errorf("%s: %v", n.Name, err)
		case n.Name == mirror.Name && f["role"] != "master":
			t.Errorf("%s: role:%s after provision, want master", n.Name, f["role"])
		case n.Name != mirror.Name && (f["role"] != "slave" || f["master_host"] != mirror.Address):
			t.Errorf("%s: role:%s master_host:%s after provision, want a replica of %s", n.Name, f["role"], f["master_host"], mirror.Address)
		}
		conf, err := h.Query(t.Context(), "cat", redisconf.SentinelConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		if want := "sentinel monitor " + inv.Cluster + " " + mirror.Address + " "; !strings.Contains(string(conf), want) {
			t.Errorf("%s: sentinel.conf lost Sentinel's %q after provision", n.Name, want)
		}
	}
}

// servicePIDs is each node's MainPIDs of units, space-separated.
func servicePIDs(t *testing.T, e *e2e, inv *inventory.Inventory, units ...string) map[string]string {
	t.Helper()
	pids := map[string]string{}
	for _, n := range inv.Nodes {
		out, err := e.lab(time.Minute, append([]string{"ssh", n.Name, "--", "systemctl", "show", "-p", "MainPID", "--value"}, units...)...)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(out)
		if len(f) != len(units) || strings.Contains(" "+out+" ", " 0 ") {
			t.Fatalf("%s: MainPIDs %q of %v, want all running", n.Name, out, units)
		}
		pids[n.Name] = strings.Join(f, " ")
	}
	return pids
}
