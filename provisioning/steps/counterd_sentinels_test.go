package steps

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"counter/provisioning/inventory"
	"counter/provisioning/redisconf"
)

// TestCounterdFollowsTheSentinels: counterd writes to the master the
// sentinels name (every node's sentinel, its own first), never to a fixed
// master: a fixed one would need a restart after every failover.
func TestCounterdFollowsTheSentinels(t *testing.T) {
	c := withSevenNodes(t, newCluster(t, newHosts()))
	port := strconv.Itoa(redisconf.SentinelPort)
	leaders := map[string]bool{}
	roles := c.Inv.SentinelRoles()
	for _, n := range c.Inv.Nodes {
		if roles[n.Name].Leads(c.Inv.SentinelQuorum()) {
			leaders[net.JoinHostPort(n.Address, port)] = true
		}
	}
	if len(leaders) == 0 {
		t.Fatalf("no sentinel leads failovers in the test cluster (%d nodes): the ordering is not tested", len(c.Inv.Nodes))
	}
	for _, n := range c.Inv.Nodes {
		conf, err := c.CounterdYAML(n)
		if err != nil {
			t.Fatalf("CounterdYAML(%s): %v", n.Name, err)
		}
		text := string(conf)
		if strings.Contains(text, "\nmaster:") {
			t.Errorf("counterd.yaml of %s names a fixed master:\n%s", n.Name, text)
		}
		if want := `master-name: "` + c.Inv.Cluster + `"`; !strings.Contains(text, want) {
			t.Errorf("counterd.yaml of %s lacks %q", n.Name, want)
		}
		var list string
		for _, line := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(line, "sentinels: "); ok {
				list, _ = strconv.Unquote(v)
			}
		}
		got := strings.Split(list, ",")
		if len(got) != len(c.Inv.Nodes) {
			t.Fatalf("sentinels of %s = %q, want all %d nodes at :%s", n.Name, got, len(c.Inv.Nodes), port)
		}
		own := net.JoinHostPort(n.Address, port)
		if !leaders[own] && got[0] != own {
			t.Errorf("sentinels of %s = %q, want its own first", n.Name, got)
		}
		// The sentinels that lead failovers announce the new master last:
		// they come after every other one.
		for i := 1; i < len(got); i++ {
			if leaders[got[i-1]] && !leaders[got[i]] {
				t.Errorf("sentinels of %s = %q: a leading sentinel (%v) before another", n.Name, got, leaders)
			}
		}
	}
}

// withSevenNodes gives c the lab's shape, master and mirror in eu and a
// replica on each of five continents: the smallest where some sentinels
// lead failovers (inventory.SentinelRoles).
func withSevenNodes(t *testing.T, c *Cluster) *Cluster {
	t.Helper()
	yml := testInventory
	for i, name := range []string{"sa", "asia", "africa", "oceania"} {
		yml += fmt.Sprintf("  - {name: %s, address: 198.51.100.%d, continent: %s, role: replica}\n", name, 30+10*i, name)
	}
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := resolveForTest(inv)
	if err != nil {
		t.Fatal(err)
	}
	c.Inv, c.Addrs = inv, addrs
	return c
}
