package inventory

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"

	"counter/internal/testutil"
)

func TestBGPKeys(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	inv, err := Load(filepath.Join("testdata", "bgp-ok.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*BGP{
		"master": {ASN: 65010, Peers: []BGPPeer{
			{Address: netip.MustParseAddr("198.51.100.1"), ASN: 65000, BFD: true},
			{Address: netip.MustParseAddr("198.51.100.2"), ASN: 65000},
		}},
		"na": {ASN: 4200000020, Peers: []BGPPeer{{Address: netip.MustParseAddr("198.51.100.17"), ASN: 65001}}},
	}
	for _, n := range inv.Nodes {
		got := n.BGP
		if got != nil {
			// Lines are for messages; compare what was decoded.
			c := BGP{ASN: got.ASN}
			for _, p := range got.Peers {
				c.Peers = append(c.Peers, BGPPeer{Address: p.Address, ASN: p.ASN, BFD: p.BFD})
			}
			got = &c
		}
		if w := want[n.Name]; !reflect.DeepEqual(got, w) {
			t.Errorf("node %s bgp = %+v, want %+v", n.Name, got, w)
		}
	}
}

func TestBGPRejects(t *testing.T) {
	for _, name := range []string{
		"bgp-bad",        // AS_TRANS, a node as peer, not a bool, IPv6, AS 0, unknown key, the anycast address as peer, empty peers, AS too big, a repeated peer
		"bgp-no-anycast", // bgp: with nothing to announce
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			path := filepath.Join("testdata", name+".yaml")
			inv, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%q) = %+v, nil; want errors", path, inv)
			}
			testutil.Golden(t, filepath.Join("testdata", name+".golden"), []byte(err.Error()+"\n"))
			checkSortedFieldErrors(t, err, path)
		})
	}
}
