package lab

import (
	"fmt"
	"net/netip"
)

// Member is one thing on the lab network: a container node (provisioning node
// or the DNS server) or a client namespace. Each has its own link (a /24 of the
// lab subnet) to the WAN router; the router holds .1, the member .2.
type Member struct {
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	Role       string     `json:"role,omitempty"`
	Continent  string     `json:"continent"`
	Datacenter string     `json:"datacenter,omitempty"`
	Link       int        `json:"link"`
	Address    netip.Addr `json:"address"`
	Gateway    netip.Addr `json:"gateway"`
}

// Netns is the member's network namespace name.
func (m Member) Netns() string { return Prefix + "-" + m.Name }

// RouterIf is the router-side interface of the member's link.
func (m Member) RouterIf() string { return fmt.Sprintf("%sv%d", Prefix, m.Link) }

// Plan is the address plan: link 0 joins the host and the router, links 1..n
// join the router and each member in topology order (nodes, then clients).
type Plan struct {
	Subnet  netip.Prefix `json:"subnet"`
	HostIP  netip.Addr   `json:"host_ip"`
	RouterH netip.Addr   `json:"router_host_ip"`
	Members []Member     `json:"members"`
	// Anycast is the address every node announces over BGP (the .1 of the
	// subnet's last /24); invalid when the links leave no /24 free.
	Anycast netip.Addr `json:"anycast,omitzero"`
}

// NewPlan lays the topology out on subnet, one /24 per link.
func NewPlan(t *Topology, subnet netip.Prefix) (*Plan, error) {
	subnet = subnet.Masked()
	if !subnet.Addr().Is4() {
		return nil, fmt.Errorf("subnet %s: only IPv4 is supported", subnet)
	}
	links := 1 + len(t.Nodes) + len(t.Clients)
	if subnet.Bits() > 24 || 1<<(24-subnet.Bits()) < links {
		return nil, fmt.Errorf("subnet %s: %d links need %d /24 networks; use a /%d or larger", subnet, links, links, 24-bitsFor(links))
	}
	linkAddr := func(link, host int) netip.Addr {
		b := subnet.Addr().As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		v += uint32(link)<<8 | uint32(host)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	p := &Plan{Subnet: subnet, HostIP: linkAddr(0, 2), RouterH: linkAddr(0, 1)}
	link := 1
	add := func(m Member) {
		m.Link, m.Address, m.Gateway = link, linkAddr(link, 2), linkAddr(link, 1)
		p.Members = append(p.Members, m)
		link++
	}
	for _, n := range t.Nodes {
		kind := KindNode
		if n.Role == "dns" {
			kind = KindDNS
		}
		add(Member{Name: n.Name, Kind: kind, Role: n.Role, Continent: n.Continent, Datacenter: n.Datacenter})
	}
	for _, c := range t.Clients {
		add(Member{Name: "client-" + c, Kind: KindClient, Role: "client", Continent: c})
	}
	p.Anycast = anycastAddr(subnet, links)
	return p, nil
}

func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// Member finds a member by name.
func (p *Plan) Member(name string) (Member, bool) {
	for _, m := range p.Members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// OfKind lists the members of one kind, in plan order.
func (p *Plan) OfKind(kind string) []Member {
	var out []Member
	for _, m := range p.Members {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// Containers lists the members that run as containers (nodes and DNS).
func (p *Plan) Containers() []Member {
	var out []Member
	for _, m := range p.Members {
		if m.Kind != KindClient {
			out = append(out, m)
		}
	}
	return out
}

// Prefix is carried by every name the lab creates on the host.
const Prefix = "ctr"
