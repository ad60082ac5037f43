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

// SentinelRole is how one node's sentinel is set: the quorum it needs to
// call the master objectively down, and how soon it sees the master down.
type SentinelRole struct {
	Quorum int
	Wait   SentinelWait
}

// SentinelWait places a sentinel in the stagger of SentinelRoles; each is
// a down-after in redisconf.
type SentinelWait int

const (
	WaitLast   SentinelWait = iota // the others (redisconf.DownAfter)
	WaitFirst                      // redisconf.DownAfterFirst
	WaitSecond                     // redisconf.DownAfterSecond
)

// SentinelRoles staggers the sentinels so that, when the master dies, one
// sentinel is elected to fail over without a race. Sentinel 7.0 votes for
// the first sentinel that asks in an epoch, and a sentinel asks as soon as
// it sees the master objectively down. Set alike, all of ours did within a
// few hundred ms, the votes split (3, 2, 1) and nobody failed over for two
// failover-timeouts (docs/chaos.md, 10:14 and 10:30).
//
// A sentinel calls the master objectively down only once it sees it down
// itself and enough others say they do. So:
//   - the master's datacentre's sentinels need one vote fewer than a
//     majority, a quorum that neither the datacentre nor any one continent
//     holds, and see the master down first;
//   - so does the first node outside it in promotion order, which takes
//     over when the whole datacentre is lost, but it sees the master down
//     second, after the datacentre's sentinels have asked for votes;
//   - "reporters", the next quorum-1 nodes in promotion order, see the
//     master down first but need the majority: they only make the quorum of
//     the two above;
//   - everyone else needs the majority and sees the master down last, when
//     they have voted already. A sentinel that voted for another does not
//     start its own election.
//
// Electing the leader still takes a majority of all sentinels. Where that
// does not fit (no datacentre set, a quorum one place would hold, or fewer
// than quorum+1 nodes outside the datacentre), every sentinel needs the
// majority and waits the longest.
func (inv *Inventory) SentinelRoles() map[string]SentinelRole {
	majority := inv.SentinelQuorum()
	roles := map[string]SentinelRole{}
	for _, n := range inv.Nodes {
		roles[n.Name] = SentinelRole{Quorum: majority}
	}
	dc := inv.Master().Datacenter
	quorum := majority - 1
	var in, out []Node
	perContinent := map[string]int{}
	for _, n := range inv.Nodes {
		if n.Datacenter == dc {
			in = append(in, n)
		} else {
			out = append(out, n)
		}
		if n.Continent != "" {
			perContinent[n.Continent]++
		}
	}
	// The second leader, its reporters and at least one slower sentinel.
	reporters := quorum - 1
	if dc == "" || quorum <= len(in) || reporters < 1 || len(out) < 1+reporters+1 {
		return roles
	}
	for _, c := range perContinent {
		if c >= quorum {
			return roles
		}
	}
	for _, n := range in {
		roles[n.Name] = SentinelRole{Quorum: quorum, Wait: WaitFirst}
	}
	slices.SortStableFunc(out, func(a, b Node) int { return promotionRank(a) - promotionRank(b) })
	roles[out[0].Name] = SentinelRole{Quorum: quorum, Wait: WaitSecond}
	for _, n := range out[1 : 1+reporters] {
		roles[n.Name] = SentinelRole{Quorum: majority, Wait: WaitFirst}
	}
	return roles
}

// Leads reports whether the sentinel may start a failover before the
// slowest have seen the master down: it needs fewer votes than a majority.
func (r SentinelRole) Leads(majority int) bool { return r.Quorum < majority }

// promotionRank orders nodes as Sentinel would promote them: the lowest
// non-zero priority first, never (0) last.
func promotionRank(n Node) int {
	if n.PromotionPriority == 0 {
		return MaxPromotionPriority + 1
	}
	return n.PromotionPriority
}

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
