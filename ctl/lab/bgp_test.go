package lab

import (
	"bytes"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"counter/internal/testutil"
)

func defaultPlanRTT(t *testing.T) (*Plan, *RTT) {
	t.Helper()
	_, p := defaultPlan(t)
	rtt, err := ParseRTT(bytes.NewReader(defaultRTT))
	if err != nil {
		t.Fatal(err)
	}
	return p, rtt
}

func TestAnycastAddr(t *testing.T) {
	tests := []struct {
		subnet string
		links  int
		want   string
	}{
		{"10.213.0.0/16", 15, "10.213.255.1"},
		{"10.40.0.0/20", 15, "10.40.15.1"},
		{"10.40.0.0/20", 16, ""}, // every /24 is a link
	}
	for _, tt := range tests {
		got := anycastAddr(netip.MustParsePrefix(tt.subnet), tt.links)
		if (tt.want == "" && got.IsValid()) || (tt.want != "" && got.String() != tt.want) {
			t.Errorf("anycastAddr(%s, %d) = %v, want %q", tt.subnet, tt.links, got, tt.want)
		}
	}
}

// TestRouterBirdConf: the lab's router config, as BIRD itself parses it,
// prefers for each client the node nearest by the matrix.
func TestRouterBirdConf(t *testing.T) {
	p, rtt := defaultPlanRTT(t)
	conf, err := RouterBirdConf(p, rtt)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/wan-bird.conf.golden", conf)
	// client-oceania: its own node (15 ms last mile) before asia's.
	for _, want := range []string{
		"protocol bgp n_oceania {\n\tlocal as 65000;\n\tneighbor 10.213.7.2 as 65007;",
		"kernel table 1000;",
	} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %q", want)
		}
	}
	oce := string(conf[strings.Index(string(conf), "protocol pipe p_client_oceania"):])
	pref := func(node string) string {
		i := strings.Index(oce, `proto = "n_`+node+`" then preference = `)
		if i < 0 {
			t.Fatalf("no preference for %s in client-oceania's pipe", node)
		}
		rest := oce[i+len(`proto = "n_`+node+`" then preference = `):]
		return rest[:strings.Index(rest, ";")]
	}
	if own, asia, eu := pref("oceania"), pref("asia"), pref("master"); !(own > asia && asia > eu) {
		t.Errorf("client-oceania's preferences: oceania %s, asia %s, master %s; want them in that order", own, asia, eu)
	}

	bird := testutil.NeedTool(t, "bird", "bird2")
	path := filepath.Join(t.TempDir(), "wan-bird.conf")
	testutil.WriteFile(t, path, conf, 0o644)
	if out, err := exec.CommandContext(t.Context(), bird, "-p", "-c", path).CombinedOutput(); err != nil {
		t.Fatalf("bird -p: %v\n%s", err, out)
	}
}

func TestAnycastRoutingTables(t *testing.T) {
	p, _ := defaultPlanRTT(t)
	a := AnycastRouting(p)
	if a == nil || a.Address != p.Anycast {
		t.Fatalf("AnycastRouting = %+v, want the plan's address %v", a, p.Anycast)
	}
	clients := p.OfKind(KindClient)
	if len(a.Clients) != len(clients) {
		t.Fatalf("%d client tables, want %d", len(a.Clients), len(clients))
	}
	for i, c := range clients {
		if a.Clients[i].Client != c.Address || a.Clients[i].Table != clientTableBase+i {
			t.Errorf("client %d = %+v, want %v in table %d", i, a.Clients[i], c.Address, clientTableBase+i)
		}
	}
	if cfg := RouterConfig(p, mustRTT(t)); cfg.Anycast == nil || cfg.Anycast.Address != p.Anycast {
		t.Errorf("the delay router is not told the anycast routing: %+v", cfg.Anycast)
	}
}

func mustRTT(t *testing.T) *RTT {
	_, rtt := defaultPlanRTT(t)
	return rtt
}
