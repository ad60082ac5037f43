//go:build !node

package ctl_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/ctl/lab"
	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// frontDoorBound is the bound for a client (anycast) and its
// continent's name (DNS) to leave a node that died or stopped serving.
const frontDoorBound = 10 * time.Second

// frontDoor is what the front door's lab checks share: a provisioned lab
// with an anycast address, the WAN matrix's nearest nodes per client.
type frontDoor struct {
	e       *e2e
	inv     *inventory.Inventory
	st      *lab.State
	anycast string
	nearest func(client lab.Member, except string) map[string]bool
}

// service is the service name, without the zone's final dot.
func (f *frontDoor) service() string {
	return f.inv.DNS.Service + "." + strings.TrimSuffix(f.inv.DNS.Zone, ".")
}

// continentName is <continent>.<service> in the zone.
func (f *frontDoor) continentName(continent string) string {
	return continent + "." + f.inv.DNS.Service + "." + f.inv.DNS.Zone
}

// answer is one GET https://<service>/ from client, by name (the client's
// namespace resolves through the lab's DNS server), TLS verified against
// the lab CA. A failed request is an error; any status is an answer.
func (f *frontDoor) answer(client string) (frontDoorAnswer, error) {
	return f.answerAt(client, f.service())
}

// answerAt is answer for any name the lab's DNS serves.
func (f *frontDoor) answerAt(client, name string) (frontDoorAnswer, error) {
	// -m 2: a poll must not wait out a connection to a node that just died.
	return f.e.curlHead(client, "-m", "2", "https://"+strings.TrimSuffix(name, ".")+"/")
}

// answeredBy polls client's answers until one is 200 from a node in want,
// for up to within, and returns how long that took and the node.
func (f *frontDoor) answeredBy(within time.Duration, client string, want map[string]bool) (time.Duration, string, error) {
	return f.answeredAt(within, client, f.service(), want)
}

// answeredAt is answeredBy for GET https://<name>/.
func (f *frontDoor) answeredAt(within time.Duration, client, name string, want map[string]bool) (time.Duration, string, error) {
	start := time.Now()
	var got frontDoorAnswer
	err := testutil.WaitEvery(within, 100*time.Millisecond, func(context.Context) error {
		var err error
		if got, err = f.answerAt(client, name); err != nil {
			return err
		}
		if got.code != http.StatusOK || !want[got.nodeHdr] {
			return fmt.Errorf("answered %d by %q", got.code, got.nodeHdr)
		}
		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("%s: GET https://%s/ answered 200 by one of %v: %w", client, strings.TrimSuffix(name, "."), keys(want), err)
	}
	return time.Since(start), got.nodeHdr, nil
}

// waitAnswered is answeredBy that fails t.
func (f *frontDoor) waitAnswered(t *testing.T, within time.Duration, client string, want map[string]bool) (time.Duration, string) {
	t.Helper()
	took, by, err := f.answeredBy(within, client, want)
	if err != nil {
		t.Fatal(err)
	}
	return took, by
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// clientOf is the lab client of a continent.
func (f *frontDoor) clientOf(t *testing.T, continent string) lab.Member {
	t.Helper()
	c, ok := f.st.Plan.Member("client-" + continent)
	if !ok {
		t.Fatalf("the lab has no client-%s", continent)
	}
	return c
}

// checkServiceName: from each continent's client the service name resolves
// to the anycast address, and GET https://<service>/ is answered by that
// continent's node (the nearest by the WAN matrix; eu has two).
func (f *frontDoor) checkServiceName(t *testing.T) {
	for _, c := range f.st.Plan.OfKind(lab.KindClient) {
		want := f.nearest(c, "")
		// The DNS watcher publishes the names shortly after provision: wait for them.
		f.waitAnswered(t, time.Minute, c.Name, want)
		a, err := f.answer(c.Name)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if a.remote != f.anycast {
			t.Errorf("%s: %s resolved to %s, want the anycast address %s", c.Name, f.service(), a.remote, f.anycast)
		}
		if n, ok := f.inv.Node(a.nodeHdr); !ok || client(n) != c.Name {
			t.Errorf("%s: answered by %q, not by its continent's node", c.Name, a.nodeHdr)
		}
		t.Logf("%s: https://%s/ -> %s, answered %d over HTTP/%s by %s", c.Name, f.service(), a.remote, a.code, a.version, a.nodeHdr)
	}
}

// checkKill: lab kill a continental node; within frontDoorBound its
// continent's client is answered by the next-nearest node and the
// continent's name no longer lists it (it names the nearest healthy node
// instead, which verifies for that name over HTTPS); lab start it, and its client returns to it once it has synced
// (its announcer waits for /readyz), and its name lists it again.
func (f *frontDoor) checkKill(t *testing.T, name string) {
	n, ok := f.inv.Node(name)
	if !ok {
		t.Fatalf("no node %s", name)
	}
	cm := f.clientOf(t, n.Continent)
	dnsName := f.continentName(n.Continent)
	has := func(got []string) bool { return slices.Contains(got, n.Address) }
	waitA(t, f.inv, dnsName, "lists "+name, has)

	start := time.Now()
	if _, err := f.e.lab(time.Minute, "kill", name); err != nil {
		t.Fatal(err)
	}
	killed := time.Since(start)
	// Both at once: each is timed from the kill.
	var wg sync.WaitGroup
	var moved, unlisted time.Duration
	var to string
	var moveErr, nameErr error
	wg.Go(func() { moved, to, moveErr = f.answeredBy(time.Minute, cm.Name, f.nearest(cm, name)) })
	wg.Go(func() {
		nameErr = testutil.Wait(time.Minute, func(ctx context.Context) error {
			got, err := lookupA(ctx, f.inv.DNS.Server, dnsName)
			if err == nil && (len(got) == 0 || has(got)) {
				err = fmt.Errorf("%s = %v", dnsName, got)
			}
			return err
		})
		unlisted = time.Since(start)
	})
	wg.Wait()
	if err := errors.Join(moveErr, nameErr); err != nil {
		t.Fatalf("after lab kill %s: %v", name, err)
	}
	moved += killed
	t.Logf("lab kill %s (the command took %.1f s): %s answered by %s after %.1f s; %s no longer lists it after %.1f s",
		name, killed.Seconds(), cm.Name, to, moved.Seconds(), dnsName, unlisted.Seconds())
	if moved > frontDoorBound || unlisted > frontDoorBound {
		t.Errorf("after lab kill %s: client moved in %.1f s, name in %.1f s; want both within %s", name, moved.Seconds(), unlisted.Seconds(), frontDoorBound)
	}
	// A user who opens the continent's own name now reaches a node of
	// another continent, whose certificate must name it too. The client's
	// resolver asks the nodes' secondaries first, which follow the primary
	// within seconds.
	if _, by, err := f.answeredAt(time.Minute, cm.Name, dnsName, f.nearest(cm, name)); err != nil {
		t.Errorf("after lab kill %s, the continent's name: %v", name, err)
	} else {
		t.Logf("GET https://%s/ from %s: 200 from %s, its certificate verified for the name", strings.TrimSuffix(dnsName, "."), cm.Name, by)
	}

	start = time.Now()
	if _, err := f.e.lab(3*time.Minute, "start", name); err != nil {
		t.Fatal(err)
	}
	booted := time.Since(start)
	back, _ := f.waitAnswered(t, 3*time.Minute, cm.Name, map[string]bool{name: true})
	relisted := waitA(t, f.inv, dnsName, "lists "+name+" again", has)
	t.Logf("lab start %s (the command took %.1f s): %s answered by it again %.1f s after the start returned; %s lists it %.1f s after that",
		name, booted.Seconds(), cm.Name, back.Seconds(), dnsName, relisted.Seconds())
}

// checkAllReplicasStopped: counterd stopped on every continental replica
// at once; each of their clients is answered within frontDoorBound by a
// node still serving (the eu nodes, whose announcements the guard never
// withdraws while they are ready), never left without an answer; started
// again, every client returns to its own node.
func (f *frontDoor) checkAllReplicasStopped(t *testing.T) {
	var replicas []inventory.Node
	serving := map[string]bool{}
	for _, n := range f.inv.Ordered() {
		switch n.Role {
		case inventory.RoleReplica:
			replicas = append(replicas, n)
		case inventory.RoleMaster, inventory.RoleMirror:
			serving[n.Name] = true
		}
	}
	systemctl := func(verb string) { f.systemctl(t, replicas, verb, "counterd.service") }
	start := time.Now()
	systemctl("stop")
	t.Cleanup(func() { systemctl("start") })
	stopped := time.Since(start)
	for _, n := range replicas {
		c := client(n)
		took, by := f.waitAnswered(t, time.Minute, c, serving)
		t.Logf("counterd stopped on every replica (%.1f s to stop them): %s answered by %s %.1f s after", stopped.Seconds(), c, by, took.Seconds())
		if took+stopped > frontDoorBound {
			t.Errorf("%s took %.1f s to be answered again, want within %s", c, (took + stopped).Seconds(), frontDoorBound)
		}
	}
	start = time.Now()
	systemctl("start")
	for _, n := range replicas {
		f.waitAnswered(t, 2*time.Minute, client(n), map[string]bool{n.Name: true})
	}
	t.Logf("counterd started on every replica: every client back on its own node after %.1f s", time.Since(start).Seconds())
}

// routerLog is the delay router's record of anycast receivers (wan.log).
func routerLog(t *testing.T, stateDir string) string {
	b, err := os.ReadFile(filepath.Join(stateDir, "wan.log"))
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "anycast") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// guardWindow is how long every client must stay on its own node while
// every node is degraded: three times the announcer's fall count (3 checks
// 1 s apart), so a node that was going to withdraw has.
const guardWindow = 10 * time.Second

// checkGuard: Redis stopped on every serving node at once, a condition the
// whole cluster shares: every counterd's /readyz says 503 (its Redis does
// not answer), but it still serves its last value, and no other node is
// ready, so the guard keeps every node announcing: for guardWindow after
// the last /readyz turned 503, every client is still answered 200 by its
// own continent's node. Redis started again, every node is ready again.
func (f *frontDoor) checkGuard(t *testing.T) {
	nodes := f.inv.Ordered()
	systemctl := func(verb string) { f.systemctl(t, nodes, verb, "redis-server.service") }
	systemctl("stop")
	t.Cleanup(func() { systemctl("start") })
	f.waitReadyz(t, nodes, http.StatusServiceUnavailable, 30*time.Second)
	degraded := time.Now()
	rounds := 0
	for time.Since(degraded) < guardWindow {
		for _, c := range f.st.Plan.OfKind(lab.KindClient) {
			want := f.nearest(c, "")
			a, err := f.answer(c.Name)
			if err != nil || a.code != http.StatusOK || !want[a.nodeHdr] {
				t.Fatalf("%.1f s into every Redis stopped: %s answered %d by %q (%v), want 200 by one of %v: the guard let its node withdraw",
					time.Since(degraded).Seconds(), c.Name, a.code, a.nodeHdr, err, keys(want))
			}
		}
		rounds++
	}
	t.Logf("Redis stopped on %d nodes: every client answered 200 by its own node for %s after every /readyz said 503 (%d rounds of every client)",
		len(nodes), guardWindow, rounds)
	systemctl("start")
	f.waitReady(t, nodes)
}

// waitReady polls each node's /readyz until it answers 200: the node has its
// Redis and a fresh value.
func (f *frontDoor) waitReady(t *testing.T, nodes []inventory.Node) {
	t.Helper()
	f.waitReadyz(t, nodes, http.StatusOK, 3*time.Minute)
}

// waitReadyz polls each node's /readyz from its client until it answers
// want. /readyz answers on port 80 itself (health endpoints are not
// redirected to HTTPS).
func (f *frontDoor) waitReadyz(t *testing.T, nodes []inventory.Node, want int, within time.Duration) {
	t.Helper()
	for _, n := range nodes {
		testutil.Poll(t, within, fmt.Sprintf("%s's /readyz says %d", n.Name, want), func(context.Context) error {
			_, code, err := f.e.curl(client(n), "http://"+n.Address+"/readyz")
			if err == nil && code != want {
				err = fmt.Errorf("/readyz %d", code)
			}
			return err
		})
	}
}

// systemctl runs `systemctl verb unit` on every one of nodes at once, and
// fails t with each node's journal of the unit where it failed.
func (f *frontDoor) systemctl(t *testing.T, nodes []inventory.Node, verb, unit string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { errs[i] = f.e.systemctl(n.Name, verb, unit) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
