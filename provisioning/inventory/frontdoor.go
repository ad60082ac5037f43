package inventory

import (
	"net/netip"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults and bounds of the front door's DNS keys.
const (
	DefaultDNSService = "counter"
	DefaultDNSTTL     = 30 * time.Second
	// A TTL under 5 s makes resolvers hammer the server for little gain;
	// over a day, a node that fails keeps its users for that long.
	MinDNSTTL = 5 * time.Second
	MaxDNSTTL = 24 * time.Hour
)

// Anycast is the optional address every serving node announces.
type Anycast struct {
	Address netip.Addr // invalid (zero) when the inventory has no anycast
}

// labelRE is one DNS label as RFC 1123 allows it for a host name, lowercase
// so that records compare byte for byte with what the server returns.
var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func (d *decoder) label(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	if !labelRE.MatchString(s) {
		d.failf(n, field, "bad DNS label %q (want 1-63 lowercase letters, digits or dashes, no dash at either end, no dots)", s)
		return "", false
	}
	return s, true
}

// ttl reads a record TTL: whole seconds within [MinDNSTTL, MaxDNSTTL].
func (d *decoder) ttl(n *yaml.Node, field string) (time.Duration, bool) {
	v, ok := d.duration(n, field)
	if !ok {
		return 0, false
	}
	switch {
	case v%time.Second != 0:
		d.failf(n, field, "%v is not whole seconds (DNS TTLs are counted in seconds)", v)
	case v < MinDNSTTL || v > MaxDNSTTL:
		d.failf(n, field, "%v out of range (want %v to %v)", v, MinDNSTTL, MaxDNSTTL)
	default:
		return v, true
	}
	return 0, false
}

// anycast decodes the `anycast:` section.
func (d *decoder) anycast(n *yaml.Node) Anycast {
	var out Anycast
	m, ok := d.mapping(n, "anycast", "address")
	if !ok {
		return out
	}
	v := d.require(m, "address")
	if v == nil {
		return out
	}
	s, ok := d.str(v, "anycast.address")
	if !ok {
		return out
	}
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		d.failf(v, "anycast.address", "bad IPv4 address %q", s)
	case !a.Is4():
		d.failf(v, "anycast.address", "%q is not IPv4 (only an IPv4 anycast address is supported)", s)
	case a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		d.failf(v, "anycast.address", "%s cannot be announced (unspecified, loopback, link-local, multicast or broadcast)", a)
	default:
		out.Address = a
	}
	return out
}

// anycastDistinct reports an anycast address that is also a node's own
// address: announcing it would steal that node's unicast traffic.
func (d *decoder) anycastDistinct(n *yaml.Node, a Anycast, nodes []Node) {
	if !a.Address.IsValid() {
		return
	}
	for i, node := range nodes {
		if p, err := netip.ParseAddr(node.Address); err == nil && p == a.Address {
			d.failf(n, "anycast.address", "%s is also the address of nodes[%d] (%s); the anycast address must be shared by no single node", a.Address, i, node.Name)
		}
	}
}
