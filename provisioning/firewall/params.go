// Package firewall renders the nftables ruleset of a counter node and the
// commands that apply it safely over SSH, with a dead-man switch that
// restores the previous rules if the new ones cut the operator off.
//
// The ruleset owns one table, inet counterctl ("counter" itself is an nft
// keyword). Its input chain drops by default; other tables (Debian's
// inet filter, the admin's own) are never touched. A packet must be
// accepted by every base chain on the hook, so an accept-all table beside
// ours does not weaken it.
package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Role is what a node is in the cluster.
type Role string

// The roles, as the inventory spells them.
const (
	Master  Role = "master"
	Mirror  Role = "mirror"
	Replica Role = "replica"
)

// Ports are the TCP ports the ruleset opens. counterd binds HTTP and HTTPS
// itself (CAP_NET_BIND_SERVICE), so its default :8080 is not opened.
// Metrics is counterd's --metrics-listen port, open to the admin networks only.
// Sentinel is Redis Sentinel's TLS port, open to the cluster's nodes only
// (counterctl asks a node's sentinel over SSH, on its loopback).
type Ports struct {
	HTTP, HTTPS, Redis, SSH, Metrics, Sentinel uint16
}

// DefaultPorts are 80, 443, Redis TLS on 6380, SSH on 22, counterd's
// metrics on 9180 and Sentinel's TLS on 26379.
func DefaultPorts() Ports {
	return Ports{HTTP: 80, HTTPS: 443, Redis: 6380, SSH: 22, Metrics: 9180, Sentinel: 26379}
}

// Params describe one node's firewall. Addresses may be IPv4 or IPv6 in
// any order and with repeats: the rendering sorts and deduplicates them.
type Params struct {
	Role Role
	// Nodes are the addresses of every cluster node, this one included:
	// only they reach the Redis TLS port.
	Nodes []netip.Addr
	// Master and Mirror are the addresses of those two nodes (Mirror may
	// be empty). Replicas take SSH from both, so a replica stays reachable
	// through whichever of them is master after a failover.
	Master, Mirror []netip.Addr
	// AdminNetworks may SSH to the master and the mirror, and reach every
	// node's metrics port.
	AdminNetworks []netip.Prefix
	// BGPPeers are the routers this node announces the anycast address
	// to: only they reach BGP (179/tcp) and BFD (3784-3785/udp). None: no
	// such rules at all.
	BGPPeers []netip.Addr
	// DNS opens port 53 (UDP and TCP) to everyone: the node serves the
	// cluster's zone as a secondary (dns.secondary), a public service
	// like HTTP.
	DNS bool
	// Ports; zero fields take DefaultPorts.
	Ports Ports
}

// BGP and single-hop BFD (RFC 5881: control 3784, echo 3785), opened to the
// node's BGP peers only.
const (
	BGPPort     = 179
	BFDPort     = 3784
	BFDEchoPort = 3785
)

// ErrInvalid is wrapped by every validation error of Render.
var ErrInvalid = errors.New("invalid firewall parameters")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// normalize validates p and returns a copy with defaults filled in and
// every address list sorted, unmapped and deduplicated.
func (p Params) normalize() (Params, error) {
	switch p.Role {
	case Master, Mirror, Replica:
	default:
		return p, invalid("role %q is not master, mirror or replica", p.Role)
	}
	var err error
	if p.Nodes, err = addrs("node", p.Nodes); err != nil {
		return p, err
	}
	if len(p.Nodes) == 0 {
		return p, invalid("no cluster node addresses")
	}
	if p.Master, err = addrs("master", p.Master); err != nil {
		return p, err
	}
	if len(p.Master) == 0 {
		return p, invalid("no master address")
	}
	if p.Mirror, err = addrs("mirror", p.Mirror); err != nil {
		return p, err
	}
	for _, a := range append(slices.Clone(p.Master), p.Mirror...) {
		if _, found := slices.BinarySearchFunc(p.Nodes, a, netip.Addr.Compare); !found {
			return p, invalid("master/mirror address %s is not among the cluster nodes", a)
		}
	}
	if p.BGPPeers, err = addrs("bgp peer", p.BGPPeers); err != nil {
		return p, err
	}
	p.AdminNetworks = slices.Clone(p.AdminNetworks)
	for i, n := range p.AdminNetworks {
		if !n.IsValid() {
			return p, invalid("admin network %d is not a CIDR", i+1)
		}
		if n.Addr().Zone() != "" {
			return p, invalid("admin network %s has an IPv6 zone", n)
		}
		if n.Masked() != n {
			return p, invalid("admin network %s has host bits set (did you mean %s?)", n, n.Masked())
		}
		// 198.51.100.0/24 given as ::ffff:198.51.100.0/120 is the same network.
		if n.Addr().Is4In6() && n.Bits() >= 96 {
			p.AdminNetworks[i] = netip.PrefixFrom(n.Addr().Unmap(), n.Bits()-96)
		}
	}
	slices.SortFunc(p.AdminNetworks, comparePrefix)
	p.AdminNetworks = slices.Compact(p.AdminNetworks)
	if p.Role != Replica && len(p.AdminNetworks) == 0 {
		return p, invalid("the %s needs at least one admin network, or no operator could SSH to it", p.Role)
	}
	if p.Ports, err = p.Ports.withDefaults(); err != nil {
		return p, err
	}
	return p, nil
}

func addrs(what string, in []netip.Addr) ([]netip.Addr, error) {
	out := make([]netip.Addr, 0, len(in))
	for i, a := range in {
		switch {
		case !a.IsValid():
			return nil, invalid("%s address %d is empty", what, i+1)
		case a.Zone() != "":
			return nil, invalid("%s address %s has an IPv6 zone; use a global address", what, a)
		case a.IsUnspecified():
			return nil, invalid("%s address %s is unspecified", what, a)
		}
		out = append(out, a.Unmap())
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out), nil
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func (p Ports) withDefaults() (Ports, error) {
	d := DefaultPorts()
	for _, f := range []struct {
		v   *uint16
		def uint16
	}{{&p.HTTP, d.HTTP}, {&p.HTTPS, d.HTTPS}, {&p.Redis, d.Redis}, {&p.SSH, d.SSH}, {&p.Metrics, d.Metrics}, {&p.Sentinel, d.Sentinel}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	seen := map[uint16]string{}
	for _, f := range []struct {
		name string
		v    uint16
	}{{"http", p.HTTP}, {"https", p.HTTPS}, {"redis", p.Redis}, {"ssh", p.SSH}, {"metrics", p.Metrics}, {"sentinel", p.Sentinel}} {
		if other, dup := seen[f.v]; dup {
			return p, invalid("ports %s and %s are both %d", other, f.name, f.v)
		}
		seen[f.v] = f.name
	}
	return p, nil
}
