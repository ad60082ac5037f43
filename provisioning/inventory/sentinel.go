package inventory

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Promotion priorities when a node does not set promotion_priority. The
// master's datacentre (the mirror, and the first master once it follows
// another) goes before the continents; the continents are equal, so
// Sentinel's next criterion, the replication offset, picks the replica
// that lost the fewest writes.
const (
	PriorityDatacentre   = 10
	PriorityContinent    = 100
	MaxPromotionPriority = 1000000
)

// DefaultPromotionPriority is a node's promotion_priority when it sets none.
func DefaultPromotionPriority(r Role) int {
	if r == RoleReplica {
		return PriorityContinent
	}
	return PriorityDatacentre
}

// SentinelQuorum is how many sentinels must agree that the master is down:
// a majority of the data nodes, one sentinel on each. It is also the
// majority Sentinel needs to elect the leader that runs a failover.
func (inv *Inventory) SentinelQuorum() int { return len(inv.Nodes)/2 + 1 }

// sentinelQuorum refuses a cluster spread over three datacentres or more
// where the master's datacentre, or one continent, holds a quorum of
// sentinels by itself: losing that place would stall every failover (no
// majority left to elect a leader), and a partition there could promote a
// node on its own. A cluster in one or two datacentres (a master, its
// mirror and one replica) cannot keep a majority through the loss of its
// bigger half whatever the numbers; it loads, and docs/failover.md says
// what it gives up.
func (d *decoder) sentinelQuorum(list *yaml.Node, nodes []Node, master int) {
	dcs := map[string]bool{}
	for _, n := range nodes {
		dcs[n.Datacenter] = true
	}
	if len(dcs) < 3 {
		return
	}
	quorum := len(nodes)/2 + 1
	count := func(key func(Node) string, v string) []string {
		var names []string
		for _, n := range nodes {
			if key(n) == v {
				names = append(names, n.Name)
			}
		}
		return names
	}
	if dc := nodes[master].Datacenter; dc != "" {
		if in := count(func(n Node) string { return n.Datacenter }, dc); len(in) >= quorum {
			d.failf(list, "nodes", "the master's datacenter %q holds %d of %d sentinels (%s), a quorum of %d by itself: losing it would stop every failover; add nodes elsewhere",
				dc, len(in), len(nodes), strings.Join(in, ", "), quorum)
			return
		}
	}
	var continents []string
	for _, n := range nodes {
		if n.Continent != "" && !slices.Contains(continents, n.Continent) {
			continents = append(continents, n.Continent)
		}
	}
	for _, c := range continents {
		if in := count(func(n Node) string { return n.Continent }, c); len(in) >= quorum {
			d.failf(list, "nodes", "continent %s holds %d of %d sentinels (%s), a quorum of %d by itself: a partition there could promote a master alone; add nodes on other continents",
				c, len(in), len(nodes), strings.Join(in, ", "), quorum)
		}
	}
}
