package inventory

import (
	"fmt"
	"net/netip"

	"go.yaml.in/yaml/v3"
)

// BGP is a node's side of announcing anycast.address: its AS and the
// routers it peers with (directly connected; the node announces the /32
// to each).
type BGP struct {
	ASN   uint32
	Peers []BGPPeer
	Line  int // where `bgp:` is, for messages
}

// BGPPeer is one router a node announces to.
type BGPPeer struct {
	Address netip.Addr // IPv4, on a network the node is directly on
	ASN     uint32
	BFD     bool // the router runs BFD on the session
	Line    int  // where the peer is, for messages
	field   string
}

// asTrans is AS 23456, which stands in for 4-byte AS numbers on old
// speakers (RFC 6793): no network has it.
const asTrans = 23456

// asn reads an AS number: 1-4294967295, not AS_TRANS.
func (d *decoder) asn(n *yaml.Node, field string) (uint32, bool) {
	v, ok := d.count(1, 1<<32-1)(n, field)
	if !ok {
		return 0, false
	}
	if v == asTrans {
		d.failf(n, field, "AS %d is AS_TRANS (RFC 6793), no network's number", v)
		return 0, false
	}
	return uint32(v), true
}

// bgp decodes a node's `bgp:` mapping.
func (d *decoder) bgp(n *yaml.Node, path string) *BGP {
	out := &BGP{Line: n.Line}
	m, ok := d.mapping(n, path, "asn", "peers")
	if !ok {
		return out
	}
	if v := d.require(m, "asn"); v != nil {
		out.ASN, _ = d.asn(v, join(path, "asn"))
	}
	v := d.require(m, "peers")
	if v == nil {
		return out
	}
	switch {
	case v.Kind != yaml.SequenceNode:
		d.failf(v, join(path, "peers"), "want a list of routers, got %s", describe(v))
		return out
	case len(v.Content) == 0:
		d.failf(v, join(path, "peers"), "empty: want at least one router")
		return out
	}
	seen := map[netip.Addr]int{}
	for i, c := range v.Content {
		p := fmt.Sprintf("%s.peers[%d]", path, i)
		peer := d.bgpPeer(resolve(c), p)
		if !peer.Address.IsValid() {
			continue
		}
		if j, dup := seen[peer.Address]; dup {
			d.failf(c, join(p, "address"), "%s is also %s.peers[%d]", peer.Address, path, j)
			continue
		}
		seen[peer.Address] = i
		out.Peers = append(out.Peers, peer)
	}
	return out
}

// bgpPeer decodes one peer; its Address is valid if that field was, for
// the checks across nodes.
func (d *decoder) bgpPeer(n *yaml.Node, path string) BGPPeer {
	out := BGPPeer{Line: n.Line, field: join(path, "address")}
	m, ok := d.mapping(n, path, "address", "asn", "bfd")
	if !ok {
		return out
	}
	if v := d.require(m, "address"); v != nil {
		s, _ := d.str(v, join(path, "address"))
		a, err := netip.ParseAddr(s)
		switch {
		case s == "":
		case err != nil || !a.Is4():
			d.failf(v, join(path, "address"), "want the router's IPv4 address, got %q", s)
		case a.IsUnspecified() || a.IsLoopback() || a.IsMulticast():
			d.failf(v, join(path, "address"), "%s cannot be a BGP neighbour (unspecified, loopback or multicast)", a)
		default:
			out.Address = a
		}
	}
	if v := d.require(m, "asn"); v != nil {
		out.ASN, _ = d.asn(v, join(path, "asn"))
	}
	if v := m.get("bfd"); v != nil {
		out.BFD, _ = d.boolean(v, join(path, "bfd"))
	}
	return out
}

// bgpChecks reports nodes with `bgp:` in an inventory without
// anycast.address (nothing to announce), and peers that are a node itself.
func (d *decoder) bgpChecks(a Anycast, nodes []Node) {
	own := map[netip.Addr]string{}
	for _, node := range nodes {
		if p, err := netip.ParseAddr(node.Address); err == nil {
			own[p] = node.Name
		}
	}
	for i, node := range nodes {
		if node.BGP == nil {
			continue
		}
		at := &yaml.Node{Line: node.BGP.Line}
		path := fmt.Sprintf("nodes[%d].bgp", i)
		if !a.Address.IsValid() {
			d.failf(at, path, "a BGP announcement needs anycast.address (there is nothing to announce)")
		}
		for _, p := range node.BGP.Peers {
			at := &yaml.Node{Line: p.Line}
			if name, ok := own[p.Address]; ok {
				d.failf(at, p.field, "%s is node %s, not a router", p.Address, name)
			}
			if p.Address == a.Address {
				d.failf(at, p.field, "%s is the anycast address itself", p.Address)
			}
		}
	}
}
