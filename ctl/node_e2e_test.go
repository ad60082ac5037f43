//go:build !node

package ctl_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
	"counter/provisioning/sentinel"
)

// nodeAddTopology is a lab of four nodes: adding a node needs a cluster
// and a continent across the WAN, not all six.
const nodeAddTopology = `zone: lab.counter.test.
nodes:
  - {name: master, continent: eu, datacenter: eu, role: master}
  - {name: mirror, continent: eu, datacenter: eu, role: mirror}
  - {name: na, continent: na, role: replica}
  - {name: asia, continent: asia, role: replica}
  - {name: dns, continent: eu, datacenter: eu, role: dns}
clients: [eu]
`

// TestNodeAddLab provisions the lab with one replica left out of the
// inventory, then adds it: the master's firewall must admit it (its
// replication link comes up only then) and node add must say it is ready.
func TestNodeAddLab(t *testing.T) {
	e := upLabTopology(t, "NODE ADD E2E", nodeAddTopology, "curl")
	full := e.inv
	inv, err := inventory.Load(full)
	if err != nil {
		t.Fatal(err)
	}
	var added string
	for _, n := range inv.Nodes {
		if n.Role == inventory.RoleReplica {
			added = n.Name
		}
	}
	if added == "" {
		t.Fatal("the lab has no replica to leave out")
	}

	// The lab writes each node as a line "  - name: NAME" followed by its
	// keys, indented by four spaces (five or six lines: bgp with anycast).
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	var without strings.Builder
	for i := 0; i < len(lines); i++ {
		if lines[i] == "  - name: "+added+"\n" {
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    ") {
				i++
			}
			continue
		}
		without.WriteString(lines[i])
	}
	e.inv = filepath.Join(e.stateDir, "inventory-without-"+added+".yaml")
	if err := os.WriteFile(e.inv, []byte(without.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	small, err := inventory.Load(e.inv)
	if err != nil {
		t.Fatalf("inventory without %s: %v", added, err)
	} else if len(small.Nodes) != len(inv.Nodes)-1 {
		t.Fatalf("inventory without %s: %d nodes, want %d", added, len(small.Nodes), len(inv.Nodes)-1)
	}
	out, took, err := e.provision(labProvisionTimeout)
	t.Logf("provision without %s took %s:\n%s", added, took.Round(100*time.Millisecond), out)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out, err = e.run(10*time.Minute, "node", "add", added, "-i", full, "--deb-dir", e.debDir, "--timeout", "3m")
	t.Logf("node add %s took %s:\n%s", added, time.Since(start).Round(100*time.Millisecond), out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, added+" is in sync: ready to be published") {
		t.Errorf("node add output lacks %q", added+" is in sync: ready to be published")
	}
	e.inv = full
	t.Run("status shows it replicating", func(t *testing.T) {
		out, err := e.run(time.Minute, "status", "-i", full)
		t.Logf("status:\n%s", out)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, added+" ") {
				found = true
				if !strings.Contains(line, " up ") {
					t.Errorf("status line of %s has no link up: %q", added, line)
				}
			}
		}
		if !found {
			t.Errorf("status has no line for %s", added)
		}
	})

	// Removing it again: the sentinels must forget it, which they never do
	// by themselves (a sentinel keeps a replica or a peer it once saw, down,
	// forever). SENTINEL MASTER's counts tell.
	t.Run("node remove takes it out and the sentinels forget it", func(t *testing.T) {
		out, err := e.run(5*time.Minute, "node", "remove", added, "-i", full)
		t.Logf("node remove %s:\n%s", added, out)
		if err != nil {
			t.Fatal(err)
		}
		c := connector(t, small)
		others := strconv.Itoa(len(small.Nodes) - 1)
		for _, n := range small.Ordered() {
			h, err := c.Host(t.Context(), n)
			if err != nil {
				t.Fatal(err)
			}
			testutil.Poll(t, time.Minute, n.Name+"'s sentinel counts without "+added, func(ctx context.Context) error {
				out, err := h.Query(ctx, sentinel.Provisioned().Argv("SENTINEL", "MASTER", small.Cluster)...)
				if err != nil {
					return err
				}
				f := pairs(string(out))
				if f["num-slaves"] != others || f["num-other-sentinels"] != others {
					return fmt.Errorf("num-slaves %q, num-other-sentinels %q; want %s each", f["num-slaves"], f["num-other-sentinels"], others)
				}
				return nil
			})
		}
	})
}

// pairs reads redis-cli's printing of a flat reply of fields and values,
// one per line.
func pairs(out string) map[string]string {
	f := map[string]string{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		f[strings.TrimSpace(lines[i])] = strings.TrimSpace(lines[i+1])
	}
	return f
}
