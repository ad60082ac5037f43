package lab

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientResolvs: every client namespace gets a resolv.conf naming the
// lab's DNS server, where `ip netns exec` finds it; down removes the files
// and the directories it made, and nothing else.
func TestClientResolvs(t *testing.T) {
	topo, p := defaultPlan(t)
	base := t.TempDir()
	// A namespace directory someone else made stays after down.
	clients := p.OfKind(KindClient)
	if len(clients) == 0 {
		t.Fatal("the default plan has no clients")
	}
	keep := filepath.Join(base, clients[0].Netns())
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	st := newState(t.TempDir())
	st.Plan, st.Zone = p, topo.Zone
	if err := st.writeClientResolvs(base); err != nil {
		t.Fatal(err)
	}
	dns := p.OfKind(KindDNS)[0].Address.String()
	for _, c := range clients {
		b, err := os.ReadFile(filepath.Join(base, c.Netns(), "resolv.conf"))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if !strings.Contains(string(b), "\nnameserver "+dns+"\n") {
			t.Errorf("%s: resolv.conf = %q, want nameserver %s", c.Name, b, dns)
		}
	}
	if errs := st.removeResolvs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range clients {
		if _, err := os.Stat(filepath.Join(base, c.Netns(), "resolv.conf")); !os.IsNotExist(err) {
			t.Errorf("%s: resolv.conf left after down (%v)", c.Name, err)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("down removed %s, which up did not make: %v", keep, err)
	}
	if ents, _ := os.ReadDir(base); len(ents) != 1 {
		t.Errorf("%d directories left under %s, want only %s", len(ents), base, keep)
	}
}

// TestClientResolvsBase: an /etc/netns that up made goes at down.
func TestClientResolvsBase(t *testing.T) {
	topo, p := defaultPlan(t)
	base := filepath.Join(t.TempDir(), "netns")
	st := newState(t.TempDir())
	st.Plan, st.Zone = p, topo.Zone
	if err := st.writeClientResolvs(base); err != nil {
		t.Fatal(err)
	}
	if errs := st.removeResolvs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("%s left after down, which up made (%v)", base, err)
	}
}

// TestResolvNotOurs: a resolv.conf the lab did not write is not overwritten.
func TestResolvNotOurs(t *testing.T) {
	base := t.TempDir()
	path := filepath.Join(base, "ns", "resolv.conf")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeResolv(base, "ns", []netip.Addr{netip.MustParseAddr("10.213.0.2")}, "lab.counter.test."); err == nil {
		t.Error("writeResolv overwrote a resolv.conf that is not the lab's")
	}
	if b, _ := os.ReadFile(path); string(b) != "nameserver 192.0.2.1\n" {
		t.Errorf("resolv.conf = %q, changed", b)
	}
}

// TestClientResolvBody: without secondaries a client asks the dns node
// alone, as before they existed; with them, the anycast address first and
// the dns node after a short timeout.
func TestClientResolvBody(t *testing.T) {
	topo, p := defaultPlan(t)
	dns, anycast := p.OfKind(KindDNS)[0].Address, p.Anycast
	tests := []struct {
		name        string
		secondaries bool
		want        string
	}{
		{"dns node only", false, resolvHeader + "nameserver " + dns.String() + "\nsearch lab.counter.test\n"},
		{"anycast first", true, resolvHeader + "nameserver " + anycast.String() + "\nnameserver " + dns.String() +
			"\nsearch lab.counter.test\noptions timeout:1 attempts:2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			st := newState(t.TempDir())
			st.Plan, st.Zone, st.DNSSecondaries = p, topo.Zone, tt.secondaries
			if err := st.writeClientResolvs(base); err != nil {
				t.Fatal(err)
			}
			for _, c := range p.OfKind(KindClient) {
				b, err := os.ReadFile(filepath.Join(base, c.Netns(), "resolv.conf"))
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.want {
					t.Errorf("%s: resolv.conf =\n%s\nwant\n%s", c.Name, b, tt.want)
				}
			}
		})
	}
}
