package steps

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"counter/provisioning/inventory"
)

// A node added to the inventory changes sentinel.conf on the nodes already
// there (the quorum, a majority of the data nodes, and parallel-syncs), so
// `counterctl node add` runs the sentinel step on them too.
func TestSentinelConfCountsTheNodes(t *testing.T) {
	c := newCluster(t, newHosts())
	master, _ := c.Inv.Node("master")
	before, err := Sentinel{c}.render(master)
	if err != nil {
		t.Fatal(err)
	}
	big := *c.Inv
	big.Nodes = append(slices.Clone(c.Inv.Nodes),
		inventory.Node{Name: "ap", Address: "198.51.100.30", Continent: "ap", Datacenter: "ap", Role: inventory.RoleReplica, PromotionPriority: 100})
	grown := *c
	grown.Inv = &big
	grown.Addrs = map[string]netip.Addr{"ap": netip.MustParseAddr("198.51.100.30")}
	for k, v := range c.Addrs {
		grown.Addrs[k] = v
	}
	after, err := Sentinel{&grown}.render(master)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) {
		t.Fatal("master's sentinel.conf is the same with a fourth node")
	}
	if !strings.Contains(string(after), "sentinel monitor test 198.51.100.10 6380 3") {
		t.Errorf("with 4 nodes, no quorum 3 in:\n%s", after)
	}
}
