package inventory

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"counter/internal/testutil"
)

func TestFrontDoorDefaults(t *testing.T) {
	inv := mustLoadExample(t)
	if inv.DNS.Service != "counter" || inv.DNS.TTL != 30*time.Second {
		t.Errorf("example dns.service, dns.ttl = %q, %v; want counter, 30s (the defaults it documents)", inv.DNS.Service, inv.DNS.TTL)
	}
	if inv.DNS.Service != DefaultDNSService || inv.DNS.TTL != DefaultDNSTTL {
		t.Errorf("example shows %q/%v, defaults are %q/%v", inv.DNS.Service, inv.DNS.TTL, DefaultDNSService, DefaultDNSTTL)
	}
	if inv.DNS.Secondary {
		t.Error("example dns.secondary = true, want false (the default: it needs the primary's cooperation)")
	}
	if inv.Anycast.Address.IsValid() {
		t.Errorf("example anycast = %v, want none (the section is commented out)", inv.Anycast.Address)
	}
	// The lab writes the defaults, and the anycast address its BGP router
	// routes (the .1 of its subnet's last /24).
	lab, err := Load("../../ctl/lab/testdata/inventory.golden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddr("10.213.255.1"); lab.DNS.Service != DefaultDNSService || lab.DNS.TTL != DefaultDNSTTL || lab.Anycast.Address != want {
		t.Errorf("lab inventory = %q, %v, %v; want the defaults and anycast %v", lab.DNS.Service, lab.DNS.TTL, lab.Anycast.Address, want)
	}
}

func TestFrontDoorOverride(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	inv, err := Load(filepath.Join("testdata", "frontdoor-override.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if inv.DNS.Service != "www" || inv.DNS.TTL != time.Minute || !inv.DNS.Secondary {
		t.Errorf("dns.service, dns.ttl, dns.secondary = %q, %v, %v; want www, 1m0s, true", inv.DNS.Service, inv.DNS.TTL, inv.DNS.Secondary)
	}
	if want := netip.MustParseAddr("192.0.2.80"); inv.Anycast.Address != want {
		t.Errorf("anycast.address = %v, want %v", inv.Anycast.Address, want)
	}
}

func TestFrontDoorRejects(t *testing.T) {
	for _, name := range []string{
		"frontdoor-bad-values",      // not a label, fractional TTL, secondary not a bool, IPv6 anycast
		"frontdoor-anycast-is-node", // a node's own address, a key typo, a label starting with a dash, TTL too short
		"frontdoor-out-of-range",    // TTL too long, secondary of a server by name, loopback anycast
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
