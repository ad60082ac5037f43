package firewall

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"text/template"
)

// Table is the nftables table the ruleset owns, in family inet.
const Table = "counterctl"

// DropCounter is the named counter of packets the input chain dropped.
const DropCounter = "input_dropped"

//go:embed ruleset.nft.tmpl
var rulesetTmpl string

var ruleset = template.Must(template.New("ruleset").Parse(rulesetTmpl))

type view struct {
	Role               Role
	Table, DropCounter string
	Ports              Ports
	SSHFrom            string
	Cluster4, Cluster6 string
	SSH4, SSH6         string
	Admin4, Admin6     string
	BGP                bool
	BGP4, BGP6         string
	BGPPort            int
	BFDPorts           string
	DNS                bool
}

// Render returns the ruleset for p: a file for `nft -f` that creates, deletes
// and redefines the table in one transaction, so applying it again is
// idempotent and never touches other tables. Same parameters, same bytes.
func Render(p Params) ([]byte, error) {
	p, err := p.normalize()
	if err != nil {
		return nil, err
	}
	var ssh []netip.Prefix
	var from string
	switch p.Role {
	case Replica:
		from = "the master and the mirror"
		ssh = hostPrefixes(p.Master, p.Mirror)
	case Master:
		from = "the admin networks and the mirror"
		ssh = append(hostPrefixes(p.Mirror), p.AdminNetworks...)
	case Mirror:
		from = "the admin networks and the master"
		ssh = append(hostPrefixes(p.Master), p.AdminNetworks...)
	}
	ssh = outermost(ssh)
	v := view{
		Role: p.Role, Table: Table, DropCounter: DropCounter, Ports: p.Ports, SSHFrom: from,
		Cluster4: elements(hostPrefixes(p.Nodes), true),
		Cluster6: elements(hostPrefixes(p.Nodes), false),
		SSH4:     elements(ssh, true),
		SSH6:     elements(ssh, false),
		Admin4:   elements(outermost(p.AdminNetworks), true),
		Admin6:   elements(outermost(p.AdminNetworks), false),
		BGP:      len(p.BGPPeers) > 0,
		BGP4:     elements(hostPrefixes(p.BGPPeers), true),
		BGP6:     elements(hostPrefixes(p.BGPPeers), false),
		BGPPort:  BGPPort,
		BFDPorts: fmt.Sprintf("%d, %d", BFDPort, BFDEchoPort),
		DNS:      p.DNS,
	}
	var b bytes.Buffer
	if err := ruleset.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render ruleset: %w", err)
	}
	return b.Bytes(), nil
}

func hostPrefixes(lists ...[]netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, l := range lists {
		for _, a := range l {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// outermost sorts and drops every prefix inside another one: an interval
// set refuses overlapping elements.
func outermost(in []netip.Prefix) []netip.Prefix {
	slices.SortFunc(in, comparePrefix)
	in = slices.Compact(in)
	var out []netip.Prefix
	for _, p := range in {
		inside := slices.ContainsFunc(in, func(q netip.Prefix) bool {
			return q.Bits() < p.Bits() && q.Contains(p.Addr())
		})
		if !inside {
			out = append(out, p)
		}
	}
	return out
}

// elements renders the IPv4 (or IPv6) members of ps as an nft element
// list, empty if there are none: a set may be empty, its elements line not.
func elements(ps []netip.Prefix, v4 bool) string {
	var s []string
	for _, p := range ps {
		if p.Addr().Is4() != v4 {
			continue
		}
		if p.IsSingleIP() {
			s = append(s, p.Addr().String())
		} else {
			s = append(s, p.String())
		}
	}
	return strings.Join(s, ", ")
}
