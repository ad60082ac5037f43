//go:build !node

package ctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"counter/ctl/lab"
	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// TestClusterLab is the design's seven-node cluster on the lab, with the
// zone served by every node (--dns-secondaries), provisioned from bare
// once for two suites: the front door's, then the
// failover issue's chaos scenarios. A bare provision takes about 9 minutes
// on a 2-core VM, the kind CI runs on: paying it once keeps make test well
// inside CI's 90 minutes. `make chaos` runs the second suite alone
// (-run '^TestClusterLab$/^chaos$'); each scenario starts from the first
// master and a converged cluster, whatever ran before it.
func TestClusterLab(t *testing.T) {
	e := upLabWith(t, "CLUSTER E2E", []string{"--dns-secondaries"}, "curl", "ping")
	out, took, err := e.provision(labProvisionTimeout)
	if err != nil {
		t.Fatalf("provision: %v\n%s", err, out)
	}
	t.Logf("provision took %s:\n%s", took.Round(100*time.Millisecond), out)
	t.Run("front door", func(t *testing.T) { frontDoorSuite(t, e) })
	t.Run("chaos", func(t *testing.T) { chaosSuite(t, e) })
}

// frontDoorSuite is the front door's routing on the lab: every node
// announces the anycast address to the lab's BGP router, each client's
// packets reach the node nearest it by the WAN matrix (the router's kernel
// table for that client says which, and the ping time shows the delay
// router applies that node's delay), and when counterd stops on a node its
// client moves to the next-nearest node within 10 s, and back after start.
// Then the other front-door points: the service name from every
// client, lab kill and start of a continental node, counterd stopped on
// every continental replica, and the master's name after lab kill master.
func frontDoorSuite(t *testing.T, e *e2e) {
	st, err := lab.LoadState(e.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	rtt, err := lab.DefaultRTT()
	if err != nil {
		t.Fatal(err)
	}
	ac := lab.AnycastRouting(st.Plan)
	if ac == nil {
		t.Fatal("the lab plan has no anycast address")
	}
	table := map[string]int{}
	for i, c := range st.Plan.OfKind(lab.KindClient) {
		table[c.Name] = ac.Clients[i].Table
	}
	nodeAt := map[netip.Addr]lab.Member{}
	for _, n := range st.Plan.OfKind(lab.KindNode) {
		nodeAt[n.Address] = n
	}
	// nearest is the node (or nodes, on a tie) nearest client among nodes.
	nearest := func(client lab.Member, except string) map[string]bool {
		best, out := time.Duration(1<<62), map[string]bool{}
		for _, n := range st.Plan.OfKind(lab.KindNode) {
			if n.Name == except {
				continue
			}
			switch d := rtt.PairRTT(client, n); {
			case d < best:
				best, out = d, map[string]bool{n.Name: true}
			case d == best:
				out[n.Name] = true
			}
		}
		return out
	}
	// receiver is the node the router's kernel sends client's anycast packets to.
	receiver := func(ctx context.Context, client string) (string, error) {
		out, err := exec.CommandContext(ctx, "ip", "-n", lab.Prefix+"-wan", "-j", "route", "show",
			"table", strconv.Itoa(table[client]), ac.Address.String()+"/32").Output()
		if err != nil {
			return "", fmt.Errorf("ip route show table %d: %w", table[client], err)
		}
		var rs []struct{ Gateway string }
		if err := json.Unmarshal(out, &rs); err != nil {
			return "", err
		}
		if len(rs) != 1 || rs[0].Gateway == "" {
			return "", fmt.Errorf("table %d: %s", table[client], out)
		}
		return nodeAt[netip.MustParseAddr(rs[0].Gateway)].Name, nil
	}
	waitFor := func(within time.Duration, client string, want map[string]bool) string {
		t.Helper()
		var got string
		testutil.Poll(t, within, client+" routed to one of "+fmt.Sprint(want), func(ctx context.Context) error {
			var err error
			if got, err = receiver(ctx, client); err != nil {
				return err
			}
			if !want[got] {
				return fmt.Errorf("routed to %s", got)
			}
			return nil
		})
		return got
	}
	// pingRTT is the smallest of a few pings from client to the anycast address.
	minRTT := regexp.MustCompile(`= ([0-9.]+)/`)
	pingRTT := func(client string) time.Duration {
		t.Helper()
		out, err := e.lab(time.Minute, "exec", client, "--", "ping", "-n", "-c", "5", "-i", "0.2", "-W", "2", ac.Address.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ping from %s:\n%s", client, out)
		m := minRTT.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("ping from %s: no rtt line in %q", client, out)
		}
		ms, _ := strconv.ParseFloat(m[1], 64)
		return time.Duration(ms * float64(time.Millisecond))
	}
	// closest names the nodes whose emulated RTT to client is nearest d.
	closest := func(client lab.Member, d time.Duration) map[string]bool {
		best, out := time.Duration(1<<62), map[string]bool{}
		for _, n := range st.Plan.OfKind(lab.KindNode) {
			diff := max(rtt.PairRTT(client, n)-d, d-rtt.PairRTT(client, n))
			switch {
			case diff < best:
				best, out = diff, map[string]bool{n.Name: true}
			case diff == best:
				out[n.Name] = true
			}
		}
		return out
	}

	clients := []string{"client-na", "client-oceania"}
	for _, c := range clients {
		cm, _ := st.Plan.Member(c)
		want := nearest(cm, "")
		got := waitFor(2*time.Minute, c, want)
		d := pingRTT(c)
		t.Logf("%s: anycast %s routed to %s; ping %s", c, ac.Address, got, d)
		if !closest(cm, d)[got] {
			t.Errorf("%s: ping %s is not the delay to %s (%s): the delay router does not follow the route", c, d, got, rtt.PairRTT(cm, mustMember(t, st, got)))
		}
		if out, err := e.lab(time.Minute, "exec", c, "--", "curl", "-fsS", "-m", "10", "https://"+ac.Address.String()+"/getvalue"); err != nil {
			t.Errorf("%s: GET /getvalue on the anycast address: %v", c, err)
		} else {
			t.Logf("%s: GET https://%s/getvalue = %q", c, ac.Address, out)
		}
	}

	// counterd stops on na: client-na moves to the next-nearest node.
	cm, _ := st.Plan.Member("client-na")
	if _, err := e.lab(time.Minute, "ssh", "na", "--", "systemctl", "stop", "counterd"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	got := waitFor(10*time.Second, "client-na", nearest(cm, "na"))
	t.Logf("counterd stopped on na: client-na moved to %s after %s", got, time.Since(stopped).Round(10*time.Millisecond))
	if d := pingRTT("client-na"); !closest(cm, d)[got] {
		t.Errorf("client-na after the move: ping %s is not the delay to %s (%s); the delay router's log:\n%s",
			d, got, rtt.PairRTT(cm, mustMember(t, st, got)), routerLog(t, e.stateDir))
	}
	// client-oceania did not move.
	if r, err := receiver(context.Background(), "client-oceania"); err != nil || r != "oceania" {
		t.Errorf("client-oceania routed to %q (%v) after na stopped, want oceania", r, err)
	}
	if err := e.systemctl("na", "start", "counterd"); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	waitFor(time.Minute, "client-na", map[string]bool{"na": true})
	t.Logf("counterd started on na: client-na back on na after %s", time.Since(started).Round(10*time.Millisecond))

	inv, err := inventory.Load(e.inv)
	if err != nil {
		t.Fatal(err)
	}
	fd := &frontDoor{e: e, inv: inv, st: st, anycast: ac.Address.String(), nearest: nearest}
	t.Run("every client opens the service name on its continent's node", fd.checkServiceName)
	t.Run("every client resolves at its nearest node, which follows the primary", fd.checkSecondaries)
	t.Run("a killed node's client and name move within 10 s and come back", func(t *testing.T) { fd.checkKill(t, "sa") })
	t.Run("counterd stopped on every continental replica: the service stays reachable", fd.checkAllReplicasStopped)
	t.Run("the master's name follows a promotion within 10 s", func(t *testing.T) {
		killMasterNameFollows(t, e, inv, inv.Master())
	})
	t.Run("redis stopped on every node: the guard keeps every node announced", func(t *testing.T) {
		// Its first runs (2026-12-02 10:04, 10:28 UTC) saw the guard hold,
		// then Redis fail to start again on master and mirror, the only
		// nodes with an append-only file then. Redis 7.0 replays that file
		// as the default user, which then had no rights (redis#14541; a
		// denied EXEC in a replay is known to crash some versions): the
		// likely cause, not confirmed from a journal. Since the default user
		// holds the rights (docs/failover.md, "Persistence") it passed
		// (11:35 UTC, the whole test 379 s).
		// The master, killed by the step before, is started again (a
		// replica of the promoted node now): lab ssh reaches the replicas
		// through it, and the guard's case is every node up but unready.
		if _, err := e.lab(3*time.Minute, "start", inv.Master().Name); err != nil {
			t.Fatal(err)
		}
		fd.waitReady(t, inv.Ordered())
		fd.checkGuard(t)
	})
}

func mustMember(t *testing.T, st *lab.State, name string) lab.Member {
	t.Helper()
	m, ok := st.Plan.Member(name)
	if !ok {
		t.Fatalf("no member %s", name)
	}
	return m
}
