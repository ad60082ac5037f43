package firewall

import (
	"net/netip"
	"testing"
)

// TestBGPRulesetInNamespaces: a node's BGP port answers its BGP peer (in
// IPv4 and IPv6) and nobody else, not even another cluster node.
func TestBGPRulesetInNamespaces(t *testing.T) {
	requireNetAdmin(t)
	p := newPair(t)
	startListener(t, p.a, BGPPort)
	for _, src := range [][2]netip.Addr{p.other, p.outsider, p.master} {
		for fam := range src {
			ping(t, p.b, src[fam], p.node[fam])
		}
	}
	rules, err := Render(Params{
		Role:     Replica,
		Nodes:    []netip.Addr{p.node[0], p.node[1], p.master[0], p.master[1], p.mirror[0], p.mirror[1]},
		Master:   p.master[:],
		Mirror:   p.mirror[:],
		BGPPeers: p.other[:], // the router
	})
	if err != nil {
		t.Fatal(err)
	}
	nftFile(t, p.a, string(rules))
	tests := []struct {
		name     string
		from     [2]netip.Addr
		wantOpen bool
	}{
		{"bgp from the peer", p.other, true},
		{"bgp from an outsider", p.outsider, false},
		{"bgp from the master", p.master, false},
	}
	var probes []probe
	for _, tc := range tests {
		for fam := range tc.from {
			probes = append(probes, probe{From: tc.from[fam], To: p.node[fam], Port: BGPPort})
		}
	}
	for i, open := range probeFrom(t, p.b, probes) {
		if want := tests[i/2].wantOpen; open != want {
			t.Errorf("%s (from %s): open = %v, want %v", tests[i/2].name, probes[i].From, open, want)
		}
	}
}
