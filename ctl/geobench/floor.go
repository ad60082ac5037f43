package geobench

import (
	"fmt"
	"time"

	"counter/ctl/lab"
)

// Site is where one continent's users are: their client namespace and the
// node they reach.
type Site struct {
	Continent string
	Client    lab.Member
	Node      lab.Member
}

// Geometry is what the floors are computed from: the lab's matrix, its
// sites, the master every press goes to and, when pages resolve a name,
// the DNS server they ask.
type Geometry struct {
	RTT    *lab.RTT
	Sites  []Site
	Master lab.Member
	DNS    *lab.Member // nil: pages are loaded by address, or NearestDNS
	// NearestDNS: pages resolve on the anycast address, where the nodes'
	// Knot secondaries answer, each client's nearest node.
	NearestDNS bool
}

// Resolver says who answers the pages' lookups, for the report; "" when
// pages are loaded by address.
func (g Geometry) Resolver() string {
	switch {
	case g.NearestDNS:
		return "through the nodes' Knot secondaries on the anycast address, the nearest node answering"
	case g.DNS != nil:
		return "through the lab's DNS server in " + g.DNS.Continent
	}
	return ""
}

// Figure names, in table order.
const (
	FigNewConn   = "page, new connection"
	FigResumed   = "page, TLS resumed"
	FigWarm      = "page, warm connection"
	FigPress     = "press"
	FigPropagate = "press seen on every other continent"
	// FigNetwork is the peer, not a product figure: the lab's own round
	// trip to the node in the same run (ICMP echo, answered by the node's
	// kernel). It has a floor and no target.
	FigNetwork = "lab round trip (ICMP echo, peer)"
)

// Figures lists the figures in table order.
var Figures = []string{FigNewConn, FigResumed, FigWarm, FigPress, FigPropagate, FigNetwork}

// Bound is a figure's physical floor and its target (0 for the peer,
// which is measured, not judged).
type Bound struct {
	Floor, Target time.Duration
	Why           string // how the floor is made, for the table's reader
}

// pageTarget is the target for a page on a new connection.
const pageTarget = 300 * time.Millisecond

// Bounds gives the floor and target of every figure for site s.
func (g Geometry) Bounds(s Site) (map[string]Bound, error) {
	last := g.RTT.PairRTT(s.Client, s.Node)
	toMaster := g.RTT.PairRTT(s.Node, g.Master)
	// TCP handshake, TLS 1.3 handshake, request: three round trips. A
	// resumed TLS 1.3 session without early data saves computation, not a
	// round trip, so its floor is the same.
	page, pageWhy := 3*last, fmt.Sprintf("3 × %s (TCP, TLS 1.3, GET)", ms0(last))
	switch {
	case g.NearestDNS:
		// Anycast takes the query to the node nearest the client: by the
		// matrix, its own continent's, the site's node.
		page += last
		pageWhy += fmt.Sprintf(" + %s DNS (nearest node, anycast)", ms0(last))
	case g.DNS != nil:
		dns := g.RTT.PairRTT(s.Client, *g.DNS)
		page += dns
		pageWhy += fmt.Sprintf(" + %s DNS", ms0(dns))
	}
	// The slowest other continent: the press travels client → node →
	// master, and the new value master → that continent's node → its page.
	var far time.Duration
	var farName string
	for _, o := range g.Sites {
		if o.Continent == s.Continent {
			continue
		}
		if d := g.RTT.PairRTT(g.Master, o.Node)/2 + g.RTT.PairRTT(o.Node, o.Client)/2; d >= far {
			far, farName = d, o.Continent
		}
	}
	if farName == "" {
		return nil, fmt.Errorf("no other continent than %s to propagate to", s.Continent)
	}
	prop := last/2 + toMaster/2 + far
	return map[string]Bound{
		FigNewConn: {Floor: page, Target: min(pageTarget, page+30*time.Millisecond), Why: pageWhy},
		FigResumed: {Floor: 3 * last, Target: min(pageTarget, 3*last+30*time.Millisecond), Why: fmt.Sprintf("3 × %s", ms0(last))},
		FigWarm:    {Floor: last, Target: last + 10*time.Millisecond, Why: fmt.Sprintf("1 × %s", ms0(last))},
		FigPress: {Floor: last + toMaster, Target: last + toMaster + 30*time.Millisecond,
			Why: fmt.Sprintf("%s to %s + %s to master", ms0(last), s.Node.Name, ms0(toMaster))},
		FigPropagate: {Floor: prop, Target: prop + 100*time.Millisecond,
			Why: fmt.Sprintf("one way: %s + %s to master + %s to %s's page", ms0(last/2), ms0(toMaster/2), ms0(far), farName)},
		FigNetwork: {Floor: last, Why: fmt.Sprintf("1 × %s", ms0(last))},
	}, nil
}

func ms0(d time.Duration) string { return fmt.Sprintf("%.4g ms", float64(d)/float64(time.Millisecond)) }
