package anycast

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"counter/internal/testutil"
)

func TestRenderBirdConfGolden(t *testing.T) {
	conf, err := RenderBirdConf(BirdParams{
		RouterID: netip.MustParseAddr("10.213.3.2"), ASN: 65003,
		Address: netip.MustParseAddr("10.213.250.1"),
		Peers: []Peer{
			{Address: netip.MustParseAddr("10.213.3.1"), ASN: 65000, BFD: true},
			{Address: netip.MustParseAddr("10.213.3.5"), ASN: 65010},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/bird.conf.golden", conf)
}

func TestRenderBirdConfNoBFDWithoutPeersThatRunIt(t *testing.T) {
	conf, err := RenderBirdConf(BirdParams{
		RouterID: netip.MustParseAddr("10.213.3.2"), ASN: 65003,
		Address: netip.MustParseAddr("10.213.250.1"),
		Peers:   []Peer{{Address: netip.MustParseAddr("10.213.3.1"), ASN: 65000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(conf), "bfd") {
		t.Errorf("bird.conf without BFD peers mentions bfd:\n%s", conf)
	}
}

func TestRenderBirdConfRefusesBadParams(t *testing.T) {
	good := BirdParams{
		RouterID: netip.MustParseAddr("10.213.3.2"), ASN: 65003,
		Address: netip.MustParseAddr("10.213.250.1"),
		Peers:   []Peer{{Address: netip.MustParseAddr("10.213.3.1"), ASN: 65000}},
	}
	tests := []struct {
		name   string
		mutate func(p *BirdParams)
		want   string
	}{
		{"ipv6 router id", func(p *BirdParams) { p.RouterID = netip.MustParseAddr("2001:db8::1") }, "router id"},
		{"no anycast", func(p *BirdParams) { p.Address = netip.Addr{} }, "anycast address"},
		{"AS 0", func(p *BirdParams) { p.ASN = 0 }, "AS number"},
		{"no peers", func(p *BirdParams) { p.Peers = nil }, "no BGP peers"},
		{"peer AS 0", func(p *BirdParams) { p.Peers = []Peer{{Address: netip.MustParseAddr("10.0.0.1")}} }, "peer 0"},
		{"protocol name with a quote", func(p *BirdParams) { p.Protocol = `a"; }` }, "protocol name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.mutate(&p)
			_, err := RenderBirdConf(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RenderBirdConf = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// The rendered file is what BIRD itself accepts (bird -p parses and exits).
func TestRenderBirdConfParsesInBird(t *testing.T) {
	testutil.NeedTool(t, "bird", "bird2")
	conf, err := RenderBirdConf(BirdParams{
		RouterID: netip.MustParseAddr("10.213.3.2"), ASN: 65003,
		Address: netip.MustParseAddr("10.213.250.1"),
		Peers: []Peer{
			{Address: netip.MustParseAddr("10.213.3.1"), ASN: 65000, BFD: true},
			{Address: netip.MustParseAddr("10.213.3.5"), ASN: 65010},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/bird.conf"
	testutil.WriteFile(t, path, conf, 0o644)
	if out, err := exec.CommandContext(t.Context(), "bird", "-p", "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("bird -p: %v\n%s\n%s", err, out, conf)
	}
}
