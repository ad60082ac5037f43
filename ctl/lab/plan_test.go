package lab

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// defaultPlan is the default topology and its plan on the default subnet.
func defaultPlan(t *testing.T) (*Topology, *Plan) {
	t.Helper()
	topo, err := DefaultTopology()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(topo, netip.MustParsePrefix("10.213.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	return topo, p
}

func TestDefaultPlan(t *testing.T) {
	topo, err := DefaultTopology()
	if err != nil {
		t.Fatalf("DefaultTopology() = %v", err)
	}
	p, err := NewPlan(topo, netip.MustParsePrefix("10.213.0.0/16"))
	if err != nil {
		t.Fatalf("NewPlan() = %v", err)
	}
	if p.HostIP != netip.MustParseAddr("10.213.0.2") || p.RouterH != netip.MustParseAddr("10.213.0.1") {
		t.Errorf("host link = %s/%s, want 10.213.0.2 (host) and 10.213.0.1 (router)", p.HostIP, p.RouterH)
	}
	want := []struct {
		name, kind, continent, addr, gw, netns, rif string
	}{
		{"master", KindNode, "eu", "10.213.1.2", "10.213.1.1", "ctr-master", "ctrv1"},
		{"mirror", KindNode, "eu", "10.213.2.2", "10.213.2.1", "ctr-mirror", "ctrv2"},
		{"na", KindNode, "na", "10.213.3.2", "10.213.3.1", "ctr-na", "ctrv3"},
		{"sa", KindNode, "sa", "10.213.4.2", "10.213.4.1", "ctr-sa", "ctrv4"},
		{"asia", KindNode, "asia", "10.213.5.2", "10.213.5.1", "ctr-asia", "ctrv5"},
		{"africa", KindNode, "africa", "10.213.6.2", "10.213.6.1", "ctr-africa", "ctrv6"},
		{"oceania", KindNode, "oceania", "10.213.7.2", "10.213.7.1", "ctr-oceania", "ctrv7"},
		{"dns", KindDNS, "eu", "10.213.8.2", "10.213.8.1", "ctr-dns", "ctrv8"},
		{"client-eu", KindClient, "eu", "10.213.9.2", "10.213.9.1", "ctr-client-eu", "ctrv9"},
		{"client-oceania", KindClient, "oceania", "10.213.14.2", "10.213.14.1", "ctr-client-oceania", "ctrv14"},
	}
	for _, w := range want {
		m, ok := p.Member(w.name)
		if !ok {
			t.Errorf("plan has no member %s", w.name)
			continue
		}
		got := []string{m.Kind, m.Continent, m.Address.String(), m.Gateway.String(), m.Netns(), m.RouterIf()}
		exp := []string{w.kind, w.continent, w.addr, w.gw, w.netns, w.rif}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("member %s = %v, want %v", w.name, got, exp)
		}
		if len(m.RouterIf()) > 15 {
			t.Errorf("interface name %q is longer than IFNAMSIZ-1", m.RouterIf())
		}
	}
	if n := len(p.OfKind(KindNode)); n != 7 {
		t.Errorf("%d provisioning nodes, want 7", n)
	}
	if n := len(p.Containers()); n != 8 {
		t.Errorf("%d containers, want 8 (nodes and dns)", n)
	}
}

func TestNewPlanSubnet(t *testing.T) {
	topo, err := DefaultTopology()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, subnet, wantErr, wantMaster string
	}{
		{name: "a /20 is enough for 15 links", subnet: "172.31.16.0/20", wantMaster: "172.31.17.2"},
		{name: "host bits are ignored", subnet: "10.213.7.9/16", wantMaster: "10.213.1.2"},
		{name: "too small", subnet: "10.213.0.0/22", wantErr: "use a /20 or larger"},
		{name: "ipv6", subnet: "fd00::/48", wantErr: "only IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(topo, netip.MustParsePrefix(tt.subnet))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewPlan(%s) error = %v, want %q", tt.subnet, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPlan(%s) = %v", tt.subnet, err)
			}
			if m, _ := p.Member("master"); m.Address.String() != tt.wantMaster {
				t.Errorf("master address = %s, want %s", m.Address, tt.wantMaster)
			}
		})
	}
}

func TestParseTopologyErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", "nodes:\n  - {name: m, continent: eu, role: master, colour: red}\n", "field colour not found"},
		{"bad continent", "nodes:\n  - {name: m, continent: eu, role: master}\n  - {name: d, continent: eu, role: dns}\n  - {name: r, continent: mars, role: replica}\n", "t.yaml:4: continent: \"mars\""},
		{"bad name", "nodes:\n  - {name: Master, continent: eu, role: master}\n  - {name: d, continent: eu, role: dns}\n", "t.yaml:2: name"},
		{"no master", "nodes:\n  - {name: d, continent: eu, role: dns}\n", "exactly one master"},
		{"no dns", "nodes:\n  - {name: m, continent: eu, role: master}\n", "exactly one dns"},
		{"mirror elsewhere", "nodes:\n  - {name: m, continent: eu, role: master}\n  - {name: d, continent: eu, role: dns}\n  - {name: x, continent: na, role: mirror}\n", "t.yaml:4: datacenter: the mirror must be in the master's datacenter"},
		{"duplicate", "nodes:\n  - {name: m, continent: eu, role: master}\n  - {name: m, continent: eu, role: dns}\n", "t.yaml:3: name: \"m\" is used twice"},
		{"bad client", "nodes:\n  - {name: m, continent: eu, role: master}\n  - {name: d, continent: eu, role: dns}\nclients: [moon]\n", "clients: \"moon\""},
		{"bad zone", "zone: \"a b\"\nnodes:\n  - {name: m, continent: eu, role: master}\n  - {name: d, continent: eu, role: dns}\n", "zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTopology("t.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseTopology() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestPairRTT(t *testing.T) {
	rtt, err := ParseRTT(bytes.NewReader(defaultRTT))
	if err != nil {
		t.Fatal(err)
	}
	node := func(c, dc string) Member { return Member{Kind: KindNode, Continent: c, Datacenter: dc} }
	client := func(c string) Member { return Member{Kind: KindClient, Continent: c} }
	ms := time.Millisecond
	tests := []struct {
		name string
		a, b Member
		want time.Duration
	}{
		{"same data centre", node("eu", "fra1"), node("eu", "fra1"), 0},
		{"same continent, other data centre", node("eu", "fra1"), node("eu", "ams1"), 15 * ms},
		{"client to its continent", client("oceania"), node("oceania", "oceania"), 15 * ms},
		{"client to another continent", client("oceania"), node("eu", "eu"), 290 * ms},
		{"nodes across continents", node("sa", "sa"), node("africa", "africa"), 340 * ms},
		{"matrix is symmetric", node("africa", "africa"), node("sa", "sa"), 340 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rtt.PairRTT(tt.a, tt.b); got != tt.want {
				t.Errorf("PairRTT(%s/%s, %s/%s) = %v, want %v", tt.a.Continent, tt.a.Kind, tt.b.Continent, tt.b.Kind, got, tt.want)
			}
		})
	}
	if len(rtt.Continents()) != 6 {
		t.Errorf("Continents() = %v, want the 6 of the design", rtt.Continents())
	}
}

func TestParseRTTErrors(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"two fields", "eu\tna\n", "line 1: want 3"},
		{"negative", "eu\tna\t-1\n", "line 1: rtt_ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRTT(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseRTT(%q) error = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestRouterConfigHalvesRTT(t *testing.T) {
	topo, _ := DefaultTopology()
	p, _ := NewPlan(topo, netip.MustParsePrefix("10.213.0.0/16"))
	rtt, _ := ParseRTT(bytes.NewReader(defaultRTT))
	cfg := RouterConfig(p, rtt)
	master, _ := p.Member("master")
	mirror, _ := p.Member("mirror")
	oceania, _ := p.Member("client-oceania")
	found := false
	for _, pr := range cfg.Pairs {
		if (pr.A == master.Address && pr.B == mirror.Address) || (pr.A == mirror.Address && pr.B == master.Address) {
			t.Errorf("master-mirror has a delay %v; one data centre has none", pr.OneWay)
		}
		if pr.A == master.Address && pr.B == oceania.Address {
			found = true
			if time.Duration(pr.OneWay) != 145*time.Millisecond {
				t.Errorf("master to client-oceania one-way = %v, want 145ms", time.Duration(pr.OneWay))
			}
		}
	}
	if !found {
		t.Error("no pair master to client-oceania")
	}
}
