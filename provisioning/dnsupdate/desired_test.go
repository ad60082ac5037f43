package dnsupdate

import (
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// rtt is a fake Distances: a few pairs of the lab's WAN matrix.
type rtt map[[2]string]time.Duration

var _ Distances = rtt(nil)

func (r rtt) Between(a, b string) (time.Duration, bool) {
	if d, ok := r[[2]string{a, b}]; ok {
		return d, true
	}
	d, ok := r[[2]string{b, a}]
	return d, ok
}

var labRTT = rtt{
	{"eu", "na"}: 90 * time.Millisecond, {"eu", "asia"}: 160 * time.Millisecond, {"na", "asia"}: 220 * time.Millisecond,
	{"eu", "sa"}: 200 * time.Millisecond, {"na", "sa"}: 120 * time.Millisecond, {"asia", "sa"}: 330 * time.Millisecond,
	{"eu", "africa"}: 160 * time.Millisecond, {"na", "africa"}: 230 * time.Millisecond, {"asia", "africa"}: 290 * time.Millisecond,
	{"eu", "oceania"}: 290 * time.Millisecond, {"na", "oceania"}: 200 * time.Millisecond, {"asia", "oceania"}: 95 * time.Millisecond,
}

func loadInventory(t *testing.T) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Load(filepath.Join("testdata", "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func allHealthy(inv *inventory.Inventory) Observation {
	o := Observation{Healthy: map[string]bool{}, Master: inv.Master().Name}
	for _, n := range inv.Nodes {
		o.Healthy[n.Name] = true
	}
	return o
}

func setOf(d Desired, name string) []string {
	var out []string
	for _, r := range d.Sets[name] {
		out = append(out, r.Type+" "+r.Data)
	}
	slices.Sort(out)
	return out
}

func TestWant(t *testing.T) {
	inv := loadInventory(t)
	obs := allHealthy(inv)
	obs.Healthy["na"] = false // na's name falls back to its nearest healthy node: eu
	obs.Master = "mirror"     // after a failover
	d, err := Want(inv, obs, labRTT)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []string
	}{
		{"counter.example.test.", []string{"A 192.0.2.10", "A 192.0.2.11", "A 192.0.2.40"}},
		{"eu.counter.example.test.", []string{"A 192.0.2.10", "A 192.0.2.11"}},
		{"na.counter.example.test.", []string{"A 192.0.2.10"}},      // eu (90 ms) beats asia (220 ms); master first in the file
		{"sa.counter.example.test.", []string{"A 192.0.2.10"}},      // eu 200 ms, asia 330 ms (na is down)
		{"oceania.counter.example.test.", []string{"A 192.0.2.40"}}, // asia 95 ms
		{"master.counter.example.test.", []string{"A 192.0.2.11"}},
		{"na.nodes.example.test.", []string{"A 192.0.2.20"}}, // every node, healthy or not
		{"master.nodes.example.test.", []string{"A 192.0.2.10"}},
	}
	for _, tt := range tests {
		if got := setOf(d, tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("Want()[%s] = %v, want %v", tt.name, got, tt.want)
		}
	}
	if d.Sets["counter.example.test."][0].TTL != 30 {
		t.Errorf("TTL = %d, want 30 (dns.ttl)", d.Sets["counter.example.test."][0].TTL)
	}
}

func TestWantAnycast(t *testing.T) {
	inv := loadInventory(t)
	inv.Anycast.Address = mustAddr(t, "198.51.100.1")
	d, err := Want(inv, allHealthy(inv), labRTT)
	if err != nil {
		t.Fatal(err)
	}
	if got := setOf(d, "counter.example.test."); !slices.Equal(got, []string{"A 198.51.100.1"}) {
		t.Errorf("service = %v, want only the anycast address", got)
	}
}

func TestWantRefusesEmptyService(t *testing.T) {
	inv := loadInventory(t)
	_, err := Want(inv, Observation{Master: "master"}, labRTT)
	if !errors.Is(err, ErrEmptyService) {
		t.Fatalf("Want(no node healthy) = %v, want ErrEmptyService", err)
	}
	// With anycast, the service name does not depend on the nodes' health.
	inv.Anycast.Address = mustAddr(t, "198.51.100.1")
	d, err := Want(inv, Observation{Master: "master"}, labRTT)
	if err != nil {
		t.Fatalf("Want(anycast, no node healthy) = %v, want the anycast record", err)
	}
	// And the continents' names are kept as they are, not emptied.
	if _, ok := d.Sets["eu.counter.example.test."]; ok || !d.Keep["eu.counter.example.test."] {
		t.Errorf("no node healthy: eu.counter set %v, kept %v; want it kept as it is", d.Sets["eu.counter.example.test."], d.Keep["eu.counter.example.test."])
	}
	// A healthy node known only by host name cannot stand in for a continent.
	inv.Nodes[0].Address = "master.example.org"
	obs := Observation{Healthy: map[string]bool{"master": true, "asia": true}, Master: "master"}
	if d, err = Want(inv, obs, labRTT); err != nil {
		t.Fatal(err)
	}
	if got := setOf(d, "africa.counter.example.test."); !slices.Equal(got, []string{"A 192.0.2.40"}) {
		t.Errorf("africa = %v, want asia's address (master has no IP address)", got)
	}
}

func TestWantUnknownMasterKept(t *testing.T) {
	inv := loadInventory(t)
	obs := allHealthy(inv)
	obs.Master = ""
	d, err := Want(inv, obs, labRTT)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Sets["master.counter.example.test."]; ok || !d.Keep["master.counter.example.test."] {
		t.Errorf("unknown master: sets %v keep %v; want the name kept as it is", d.Sets["master.counter.example.test."], d.Keep)
	}
}

// The plan as `counterctl dns plan` prints it, from a zone that has a
// foreign name, an outdated owned name and a node that left the inventory.
func TestPlanGolden(t *testing.T) {
	inv := loadInventory(t)
	obs := allHealthy(inv)
	obs.Healthy["asia"] = false
	d, err := Want(inv, obs, labRTT)
	if err != nil {
		t.Fatal(err)
	}
	own := OwnerText("testc")
	z := Zone{Name: "example.test.", Serial: 7, Records: []RR{
		{"counter.example.test.", 30, "A", "192.0.2.10"},
		{"counter.example.test.", 30, "A", "192.0.2.99"},
		{"_counterctl.counter.example.test.", 30, "TXT", own},
		{"eu.counter.example.test.", 300, "A", "203.0.113.5"}, // someone else's
		{"na.nodes.example.test.", 30, "CNAME", "na.example.org."},
		{"_counterctl.na.nodes.example.test.", 30, "TXT", own},
		{"gone.nodes.example.test.", 30, "A", "192.0.2.77"},
		{"_counterctl.gone.nodes.example.test.", 30, "TXT", own},
		{"_counterctl.other.example.test.", 30, "TXT", OwnerText("another")},
	}}
	var b strings.Builder
	if err := Diff(z, d).Write(&b); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "plan.golden"), []byte(b.String()))
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A name whose ownership record names another cluster is that cluster's,
// even while it holds no address.
func TestDiffOtherClusterOwnsEmptyName(t *testing.T) {
	inv := loadInventory(t)
	d, err := Want(inv, allHealthy(inv), labRTT)
	if err != nil {
		t.Fatal(err)
	}
	z := Zone{Name: "example.test.", Records: []RR{
		{"_counterctl.sa.counter.example.test.", 30, "TXT", OwnerText("another")},
	}}
	p := Diff(z, d)
	if !slices.Contains(p.Foreign, "sa.counter.example.test.") {
		t.Errorf("Foreign = %v, want sa.counter (owned by cluster another)", p.Foreign)
	}
	for _, c := range p.Changes {
		if subject(c) == "sa.counter.example.test." {
			t.Errorf("plan changes %s %s, owned by another cluster", c.Name, c.Type)
		}
	}
}
