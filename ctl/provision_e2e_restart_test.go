//go:build !node

package ctl_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/ctl/lab/labtest"
	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/steps"
)

// checkRestartKeepsPromotion runs after checkSentinelFailover, with the
// mirror master. Presses go in; then every node loses power at once and
// boots again (a power cut; chaos scenario 5 after scenario 1). Each Redis
// starts from its redis.conf alone, before any sentinel can act: the
// mirror must come back as master, because Sentinel's CONFIG REWRITE saved
// its promotion, and keep every acknowledged press; the old master must
// come back as its replica, not as a second master whose old data the
// mirror would resync. A provision run afterwards changes nothing and
// restarts nothing.
func checkRestartKeepsPromotion(t *testing.T, e *e2e, inv *inventory.Inventory) {
	labtest.Unproven(t, "not seen passing on the lab since its cause was fixed: it served 0 after the power cut because Redis 7.0 skipped every MULTI/EXEC of the append-only file (the default user's rights, docs/failover.md \"Persistence\"); chaos scenario 5, the same restart under load, passed since")
	master := inv.Master()
	mirror, ok := inv.Mirror()
	if !ok {
		t.Skip("the lab inventory has no mirror")
	}
	// A connector per question: the nodes reboot in between, and the SSH
	// jump to a replica goes through whichever node is master then.
	role := func(ctx context.Context, n inventory.Node) (map[string]string, error) {
		c := host.NewConnector(inv, host.ConnectOptions{})
		defer c.Close()
		h, err := c.Host(ctx, n)
		if err != nil {
			return nil, err
		}
		return steps.ReplicationInfo(ctx, h)
	}
	if f, err := role(t.Context(), mirror); err != nil || f["role"] != "master" {
		t.Fatalf("%s: role %q, %v; the sentinel subtest must leave it master", mirror.Name, f["role"], err)
	}

	// Presses acknowledged by the promoted mirror, through na's counterd.
	na, _ := inv.Node("na")
	base := "https://" + na.Address
	var last int64
	for i := range 3 {
		jar := filepath.Join(t.TempDir(), "cookies")
		login := fmt.Sprintf("restart%d%d", time.Now().UnixNano(), i)
		if body, code, err := e.curl(client(na), "-c", jar, "-d", "login="+login, "-d", "password=e2e-password-1", base+"/register"); err != nil || code != 201 {
			t.Fatalf("register on na = %d %q, %v", code, body, err)
		}
		body, code, err := e.curl(client(na), "-b", jar, "-X", "POST", base+"/inc")
		if err != nil || code != 200 {
			t.Fatalf("inc on na = %d %q, %v", code, body, err)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(body), 10, 64)
		if err != nil {
			t.Fatalf("inc on na answered %q", body)
		}
		last = max(last, v)
	}
	t.Logf("presses acknowledged up to %d with %s master", last, mirror.Name)

	var names []string
	for _, n := range inv.Ordered() {
		names = append(names, n.Name)
	}
	if _, err := e.lab(2*time.Minute, append([]string{"kill"}, names...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := e.lab(5*time.Minute, append([]string{"start"}, names...)...); err != nil {
		t.Fatal(err)
	}

	testutil.Poll(t, 2*time.Minute, mirror.Name+" master and "+master.Name+" its replica", func(ctx context.Context) error {
		f, err := role(ctx, mirror)
		if err != nil {
			return err
		}
		if f["role"] != "master" {
			return fmt.Errorf("%s is %s of %s", mirror.Name, f["role"], f["master_host"])
		}
		f, err = role(ctx, master)
		if err == nil && (f["role"] != "slave" || f["master_host"] != mirror.Address) {
			err = fmt.Errorf("%s is %s (master_host %q)", master.Name, f["role"], f["master_host"])
		}
		return err
	})
	for _, n := range []inventory.Node{mirror, master} {
		testutil.Poll(t, time.Minute, n.Name+" shows "+strconv.FormatInt(last, 10), func(context.Context) error {
			v, code, err := e.curl(client(n), "https://"+n.Address+"/getvalue")
			if err == nil && (code != 200 || strings.TrimSpace(v) != strconv.FormatInt(last, 10)) {
				err = fmt.Errorf("GET /getvalue = %d %q", code, v)
			}
			return err
		})
	}

	before := servicePIDs(t, e, inv, "redis-server.service", "redis-sentinel.service")
	out, _, err := e.provision(10 * time.Minute)
	t.Logf("provision after the restart:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	after := servicePIDs(t, e, inv, "redis-server.service", "redis-sentinel.service")
	for name, pids := range before {
		if after[name] != pids {
			t.Errorf("%s: redis-server, redis-sentinel MainPID %s before provision, %s after: provision restarted one", name, pids, after[name])
		}
	}
	for _, n := range inv.Nodes {
		if !regexp.MustCompile(`(?m)^` + n.Name + `\s+\d+\s+0\s+0\s+0\s`).MatchString(out) {
			t.Errorf("summary does not show %s with 0 changed, 0 skipped, 0 failed", n.Name)
		}
	}
}
