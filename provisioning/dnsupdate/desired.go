// Package dnsupdate publishes the cluster's names in its DNS zone: it works
// out the records the cluster should have, reads what the server holds
// (TSIG-signed AXFR), and sends one TSIG-signed RFC 2136 update that
// deletes before it inserts, with the zone's SOA as prerequisite.
//
// Only names counterctl owns are changed: a name is owned when an ownership
// TXT record for the cluster sits at its companion name (OwnerName). The
// companion, not the name itself, carries it because a CNAME shares its
// name with no other record (RFC 1034 §3.6.2), which is why ExternalDNS
// also moved its registry TXT to a prefixed name.
package dnsupdate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"counter/provisioning/inventory"
)

// Observation is the cluster's state that the records follow.
type Observation struct {
	// Healthy names the nodes that serve now (counterd's /readyz says 200).
	Healthy map[string]bool
	// Master is the live master's node name; empty when it could not be
	// decided, and then its name is left as the server has it.
	Master string
}

// Observer reports the cluster's state; ctl's is the probe and livemaster.
type Observer interface {
	Observe(ctx context.Context) (Observation, error)
}

// Distances orders continents by round-trip time; lab.RTT is one.
type Distances interface {
	Between(a, b string) (time.Duration, bool)
}

// RR is one record in presentation form, names fully qualified and lowercase.
type RR struct {
	Name string
	TTL  uint32
	Type string // A, AAAA, CNAME or TXT
	Data string // as in a zone file: 192.0.2.1, host.example., "text"
}

func (r RR) String() string { return fmt.Sprintf("%s %d IN %s %s", r.Name, r.TTL, r.Type, r.Data) }

// Managed are the types counterctl writes at a name it owns; others are left alone.
var Managed = []string{"A", "AAAA", "CNAME"}

// OwnerPrefix is the label of the companion name that carries ownership.
const OwnerPrefix = "_counterctl"

// OwnerName is where the ownership TXT of name lives.
func OwnerName(name string) string { return OwnerPrefix + "." + name }

// OwnerText is the ownership TXT's data for cluster, quoted.
func OwnerText(cluster string) string {
	return `"heritage=counterctl,cluster=` + cluster + `"`
}

// Desired is the records the cluster should have, by name, and the names
// whose records this run does not decide (the master's when it is unknown).
type Desired struct {
	Zone    string
	Cluster string
	Sets    map[string][]RR // by name; never empty for a name that is here
	Keep    map[string]bool // owned names left as they are this run
	Notes   []string        // what the plan should tell the admin
}

// ErrEmptyService refuses a run that would leave the service name with no address.
var ErrEmptyService = errors.New("no healthy node to publish for the service name")

// Want works out the desired records from the inventory and an observation.
// dist may be nil: a continent without a healthy node then gets the first
// healthy node in inventory order.
func Want(inv *inventory.Inventory, obs Observation, dist Distances) (Desired, error) {
	zone := strings.ToLower(inv.DNS.Zone)
	svc := inv.DNS.Service + "." + zone
	ttl := uint32(inv.DNS.TTL / time.Second)
	d := Desired{Zone: zone, Cluster: inv.Cluster, Sets: map[string][]RR{}, Keep: map[string]bool{}}

	// Only a node with an IP address can stand in a set of addresses.
	var healthy []inventory.Node
	for _, n := range inv.Nodes {
		if _, ok := addressRR("", 0, n.Address); ok && obs.Healthy[n.Name] {
			healthy = append(healthy, n)
		}
	}
	addrs := func(name string, nodes []inventory.Node) []RR {
		var out []RR
		for _, n := range nodes {
			if rr, ok := addressRR(name, ttl, n.Address); ok {
				out = append(out, rr)
			}
		}
		return out
	}

	if a := inv.Anycast.Address; a.IsValid() {
		d.Sets[svc] = []RR{{Name: svc, TTL: ttl, Type: "A", Data: a.String()}}
	} else {
		d.Sets[svc] = addrs(svc, healthy)
	}
	if len(d.Sets[svc]) == 0 {
		return d, fmt.Errorf("%s: %w (refusing to empty it; none of the %d nodes is healthy with an IP address)",
			svc, ErrEmptyService, len(inv.Nodes))
	}

	// Every continent the inventory knows gets a name, so one without a node
	// of its own still leads to its nearest node.
	for _, c := range inventory.Continents() {
		name := c + "." + svc
		var local []inventory.Node
		for _, n := range healthy {
			if n.Continent == c {
				local = append(local, n)
			}
		}
		if len(local) == 0 {
			if n, ok := nearest(c, healthy, dist); ok {
				local = []inventory.Node{n}
				d.Notes = append(d.Notes, fmt.Sprintf("%s: no healthy node in %s; using the nearest, %s (in %s)", name, c, n.Name, n.Continent))
			}
		}
		if rrs := addrs(name, local); len(rrs) > 0 {
			d.Sets[name] = rrs
		} else {
			// No node healthy at all (possible with anycast): rather than
			// empty the continents' names on what may be our own blindness,
			// leave them as they are.
			d.Keep[name] = true
			d.Notes = append(d.Notes, name+": no healthy node anywhere; left as it is")
		}
	}

	for _, n := range inv.Nodes {
		name := n.Name + ".nodes." + zone
		if rr, ok := addressRR(name, ttl, n.Address); ok {
			d.Sets[name] = []RR{rr}
		} else {
			// A host-name address is published as an alias to that name.
			d.Sets[name] = []RR{{Name: name, TTL: ttl, Type: "CNAME", Data: strings.ToLower(strings.TrimSuffix(n.Address, ".")) + "."}}
		}
	}

	master := "master." + svc
	switch m, ok := inv.Node(obs.Master); {
	case obs.Master == "":
		d.Keep[master] = true
		d.Notes = append(d.Notes, master+": live master unknown; left as it is")
	case !ok:
		return d, fmt.Errorf("live master %q is not in the inventory", obs.Master)
	default:
		if rr, ok := addressRR(master, ttl, m.Address); ok {
			d.Sets[master] = []RR{rr}
		} else {
			d.Sets[master] = []RR{{Name: master, TTL: ttl, Type: "CNAME", Data: m.Name + ".nodes." + zone}}
		}
	}
	return d, nil
}

// addressRR is an A or AAAA record for an IP address; false for a host name.
func addressRR(name string, ttl uint32, address string) (RR, bool) {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return RR{}, false
	}
	if a.Is4() || a.Is4In6() {
		return RR{Name: name, TTL: ttl, Type: "A", Data: a.Unmap().String()}, true
	}
	return RR{Name: name, TTL: ttl, Type: "AAAA", Data: a.String()}, true
}

// nearest is the healthy node closest to continent c; ties and unknown
// distances keep inventory order.
func nearest(c string, healthy []inventory.Node, dist Distances) (inventory.Node, bool) {
	if len(healthy) == 0 {
		return inventory.Node{}, false
	}
	if dist == nil {
		return healthy[0], true
	}
	const unknown = time.Duration(1 << 62)
	rtt := func(n inventory.Node) time.Duration {
		if d, ok := dist.Between(c, n.Continent); ok {
			return d
		}
		return unknown
	}
	return slices.MinFunc(healthy, func(a, b inventory.Node) int { return cmp.Compare(rtt(a), rtt(b)) }), true
}
