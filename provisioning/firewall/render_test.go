package firewall

import (
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"counter/internal/testutil"
)

// cluster is the example inventory's cluster, with an IPv6 address on
// the master and one replica.
func cluster(role Role) Params {
	return Params{
		Role: role,
		Nodes: addrList("198.51.100.10", "2001:db8::10", "198.51.100.11",
			"198.51.100.20", "198.51.100.30", "198.51.100.40", "2001:db8:40::1",
			"198.51.100.50", "198.51.100.60"),
		Master:        addrList("198.51.100.10", "2001:db8::10"),
		Mirror:        addrList("198.51.100.11"),
		AdminNetworks: prefixList("203.0.113.0/24", "2001:db8:ad::/48"),
	}
}

func addrList(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func prefixList(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// goldenCases are rendered to testdata/NAME.nft; nft_test.go checks each
// with the real nft.
func goldenCases() []struct {
	name string
	p    Params
} {
	custom := cluster(Replica)
	custom.Ports = Ports{SSH: 2222, Redis: 16380}
	custom.Mirror = nil
	v4only := cluster(Master)
	v4only.Nodes = addrList("192.0.2.1", "192.0.2.2")
	v4only.Master = addrList("192.0.2.1")
	v4only.Mirror = addrList("192.0.2.2")
	v4only.AdminNetworks = prefixList("192.0.2.0/24") // holds the mirror: one ssh element
	bgp := cluster(Replica)
	bgp.BGPPeers = addrList("198.51.100.17", "198.51.100.18", "198.51.100.17")
	dnsSecondary := bgp
	dnsSecondary.DNS = true
	return []struct {
		name string
		p    Params
	}{
		{"master", cluster(Master)},
		{"mirror", cluster(Mirror)},
		{"replica", cluster(Replica)},
		{"replica-no-mirror-custom-ports", custom},
		{"master-ipv4-only", v4only},
		{"replica-bgp", bgp},
		{"replica-bgp-dns", dnsSecondary},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.p)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			testutil.Golden(t, filepath.Join("testdata", tc.name+".nft"), got)
		})
	}
}

// TestRenderDeterministic: the order and repeats of the inputs, and
// IPv4-mapped spellings, do not change a byte.
func TestRenderDeterministic(t *testing.T) {
	p := cluster(Replica)
	want, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	q := cluster(Replica)
	slices.Reverse(q.Nodes)
	q.Nodes = append(q.Nodes, netip.MustParseAddr("::ffff:198.51.100.20"))
	slices.Reverse(q.AdminNetworks)
	q.Master = append(q.Master, q.Master[0])
	got, err := Render(q)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("shuffled input rendered differently:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderSSHSources(t *testing.T) {
	tests := []struct {
		name      string
		role      Role
		want, not []string // in / not in the ssh_v4 and ssh_v6 elements
	}{
		{"replica takes master and mirror", Replica,
			[]string{"198.51.100.10", "198.51.100.11", "2001:db8::10"}, []string{"203.0.113.0/24"}},
		{"master takes admins and mirror", Master,
			[]string{"203.0.113.0/24", "2001:db8:ad::/48", "198.51.100.11"}, []string{"198.51.100.10"}},
		{"mirror takes admins and master", Mirror,
			[]string{"203.0.113.0/24", "198.51.100.10", "2001:db8::10"}, []string{"198.51.100.11"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Render(cluster(tc.role))
			if err != nil {
				t.Fatal(err)
			}
			ssh := setElements(t, string(out), "ssh_v4") + ", " + setElements(t, string(out), "ssh_v6")
			for _, w := range tc.want {
				if !slices.Contains(strings.Split(ssh, ", "), w) {
					t.Errorf("ssh sets of the %s = %q, want %s in them", tc.role, ssh, w)
				}
			}
			for _, n := range tc.not {
				if slices.Contains(strings.Split(ssh, ", "), n) {
					t.Errorf("ssh sets of the %s = %q, want no %s", tc.role, ssh, n)
				}
			}
		})
	}
}

// setElements returns the element list of the named set in a ruleset.
func setElements(t *testing.T, ruleset, set string) string {
	t.Helper()
	_, rest, ok := strings.Cut(ruleset, "\tset "+set+" {\n")
	if !ok {
		t.Fatalf("no set %s in:\n%s", set, ruleset)
	}
	body, _, _ := strings.Cut(rest, "\n\t}")
	_, el, ok := strings.Cut(body, "elements = { ")
	if !ok {
		return ""
	}
	el, _, _ = strings.Cut(el, " }")
	return el
}

func TestRenderRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Params)
		want   string
	}{
		{"unknown role", func(p *Params) { p.Role = "primary" }, `role "primary"`},
		{"no nodes", func(p *Params) { p.Nodes = nil }, "no cluster node"},
		{"no master", func(p *Params) { p.Master = nil }, "no master address"},
		{"master not a node", func(p *Params) { p.Master = addrList("192.0.2.99") }, "192.0.2.99 is not among"},
		{"mirror not a node", func(p *Params) { p.Mirror = addrList("192.0.2.98") }, "192.0.2.98 is not among"},
		{"zero address", func(p *Params) { p.Nodes = append(p.Nodes, netip.Addr{}) }, "node address 10 is empty"},
		{"zoned address", func(p *Params) { p.Nodes = append(p.Nodes, netip.MustParseAddr("fe80::1%eth0")) }, "zone"},
		{"unspecified", func(p *Params) { p.Nodes = append(p.Nodes, netip.MustParseAddr("0.0.0.0")) }, "unspecified"},
		{"host bits", func(p *Params) { p.AdminNetworks = prefixList("203.0.113.7/24") }, "did you mean 203.0.113.0/24"},
		{"master without admins", func(p *Params) { p.AdminNetworks = nil }, "at least one admin network"},
		{"same port twice", func(p *Params) { p.Ports = Ports{SSH: 443} }, "https and ssh are both 443"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := cluster(Master)
			tc.change(&p)
			out, err := Render(p)
			if err == nil {
				t.Fatalf("Render = %d bytes, nil error; want an error with %q", len(out), tc.want)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Render error = %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func TestReplicaNeedsNoAdminNetworks(t *testing.T) {
	p := cluster(Replica)
	p.AdminNetworks = nil
	if _, err := Render(p); err != nil {
		t.Errorf("Render(replica without admin networks) = %v, want nil: replicas take SSH from the master", err)
	}
}
