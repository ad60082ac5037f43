//go:build !node

package ctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
	"counter/provisioning/redisconf"
	"counter/provisioning/steps"
)

// checkProvisionKeepsSwitchover: the mirror is made master by hand (its
// Redis without replicaof, every other node's following it, counterd's
// master: pointing at it), as an admin would today. A provision run must
// then find the mirror master, restart neither Redis nor counterd
// anywhere, and leave the roles as they are; status and health name the
// mirror. Before provision read the master from the live nodes it turned
// the old master back into the master: split brain.
// It runs last: it leaves the mirror master.
func checkProvisionKeepsSwitchover(t *testing.T, e *e2e, inv *inventory.Inventory) {
	var mirror inventory.Node
	for _, n := range inv.Ordered() {
		if n.Role == inventory.RoleMirror {
			mirror = n
			break
		}
	}
	if mirror.Name == "" {
		t.Skip("the lab inventory has no mirror")
	}
	switchover(t, e, inv, mirror)
	before := mainPIDs(t, e, inv)

	out, _, err := e.provision(4 * time.Minute)
	t.Logf("provision after the switchover:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "master: "+mirror.Name+", from the nodes") {
		t.Errorf("provision did not say it found %s master from the nodes", mirror.Name)
	}
	after := mainPIDs(t, e, inv)
	for name, pids := range before {
		if after[name] != pids {
			t.Errorf("%s: redis-server, counterd MainPID %s before provision, %s after: provision restarted a service", name, pids, after[name])
		}
	}
	c := connector(t, inv)
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
	}

	js, err := e.run(time.Minute, "status", "-i", e.inv, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ss []struct {
		Node       string
		RedisRole  string `json:"redis_role"`
		LiveMaster bool   `json:"live_master"`
	}
	if err := json.Unmarshal([]byte(js), &ss); err != nil {
		t.Fatalf("status --output json: %v\n%s", err, js)
	}
	for _, s := range ss {
		if s.LiveMaster != (s.Node == mirror.Name) {
			t.Errorf("status: %s live_master=%v, want only %s", s.Node, s.LiveMaster, mirror.Name)
		}
	}
	out, _ = e.run(2*time.Minute, "health", "-i", e.inv, "--timeout", "60s")
	t.Logf("health after the switchover:\n%s", out)
	if !strings.Contains(out, "master="+mirror.Name+",") {
		t.Errorf("health does not name %s the master", mirror.Name)
	}
	if strings.Contains(out, "redis role:") {
		t.Errorf("health finds a redis role wrong after the switchover")
	}
}

// switchover makes to the master by hand: its redis.conf loses replicaof,
// every other node's follows it, counterd everywhere writes to it, and
// the services restart, to the master first. It waits until every
// replica's link is up.
func switchover(t *testing.T, e *e2e, inv *inventory.Inventory, to inventory.Node) {
	t.Helper()
	port := strconv.Itoa(redisconf.DefaultPort)
	nodes := inv.Ordered()
	// to first: the others then sync from a master that is already there.
	for i, n := range nodes {
		if n.Name == to.Name {
			nodes[0], nodes[i] = nodes[i], nodes[0]
		}
	}
	for _, n := range nodes {
		sed := []string{"sed", "-i", "-e", "/^replicaof /d"}
		master := "127.0.0.1"
		if n.Name != to.Name {
			sed = append(sed, "-e", "$a replicaof "+to.Address+" "+port)
			master = to.Address
		}
		u := url.URL{Scheme: "rediss", User: url.User("counterd"), Host: net.JoinHostPort(master, port), Path: "/0"}
		for _, argv := range [][]string{
			append(sed, redisconf.ConfigPath),
			{"sed", "-i", "-e", fmt.Sprintf("s|^master: .*|master: %q|", u.String()), steps.CounterdConfig},
			{"systemctl", "restart", "redis-server.service", "counterd.service"},
		} {
			if out, err := e.lab(time.Minute, append([]string{"ssh", n.Name, "--"}, argv...)...); err != nil {
				t.Fatalf("switchover to %s: on %s: %v\n%s", to.Name, n.Name, err, out)
			}
		}
	}
	c := connector(t, inv)
	for _, n := range nodes[1:] {
		h, err := c.Host(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		testutil.Poll(t, 2*time.Minute, n.Name+" replicates from "+to.Name, func(ctx context.Context) error {
			f, err := steps.ReplicationInfo(ctx, h)
			if err != nil {
				return err
			}
			if !f.LinkUp() || f["master_host"] != to.Address {
				return fmt.Errorf("role:%s master_host:%s link:%s", f["role"], f["master_host"], f["master_link_status"])
			}
			return nil
		})
	}
}

// mainPIDs is each node's "redis-server counterd" MainPIDs.
func mainPIDs(t *testing.T, e *e2e, inv *inventory.Inventory) map[string]string {
	t.Helper()
	pids := map[string]string{}
	for _, n := range inv.Nodes {
		out, err := e.lab(time.Minute, "ssh", n.Name, "--", "systemctl", "show", "-p", "MainPID", "--value", "redis-server.service", "counterd.service")
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(out)
		if len(f) != 2 || f[0] == "0" || f[1] == "0" {
			t.Fatalf("%s: MainPIDs %q, want two running services", n.Name, out)
		}
		pids[n.Name] = strings.Join(f, " ")
	}
	return pids
}
