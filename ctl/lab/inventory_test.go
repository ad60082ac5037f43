package lab

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// labInventory is the inventory up writes for the default plan.
func labInventory(t *testing.T) Inventory {
	t.Helper()
	topo, p := defaultPlan(t)
	dns, _ := p.Member("dns")
	return Inventory{
		Cluster: "lab", Zone: topo.Zone, DNSServer: netip.AddrPortFrom(dns.Address, 53),
		TSIG: TSIG{Name: "counter-update.", Algorithm: "hmac-sha256", Secret: "never-written"}, TSIGFile: "secrets/tsig.key",
		KeyFile: "ssh/id_ed25519", KnownHosts: "ssh/known_hosts",
		AdminNetwork: netip.PrefixFrom(p.HostIP, 32),
		CounterdPass: "secrets/redis-counterd.pass", ReplPass: "secrets/redis-replication.pass",
		SentinelPass: "secrets/sentinel.pass", SentinelPeerPass: "secrets/sentinel-peer.pass",
		SentinelAdminPass: "secrets/sentinel-counterctl.pass",
		PKIDir:            "pki/", Nodes: p.OfKind(KindNode), Anycast: p.Anycast,
	}
}

func TestWriteInventoryGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteInventory(&b, labInventory(t)); err != nil {
		t.Fatalf("WriteInventory() = %v", err)
	}
	testutil.Golden(t, "testdata/inventory.golden.yaml", b.Bytes())
	if bytes.Contains(b.Bytes(), []byte("never-written")) {
		t.Error("the TSIG secret is inline in the inventory")
	}
}

// The inventory's consumer is provisioning: the golden must load with its loader.
func TestInventoryGoldenLoadsForProvisioning(t *testing.T) {
	inv, err := inventory.Load("testdata/inventory.golden.yaml")
	if err != nil {
		t.Fatalf("provisioning's inventory.Load(golden) = %v", err)
	}
	if got := inv.Master().Address; got != "10.213.1.2" {
		t.Errorf("master address = %q, want 10.213.1.2", got)
	}
	if len(inv.Nodes) != 7 {
		t.Errorf("%d nodes, want 7 (dns and clients are not provisioning nodes)", len(inv.Nodes))
	}
}

// TestInventorySecondary: --dns-secondaries adds dns.secondary and nothing
// else, and provisioning reads it.
func TestInventorySecondary(t *testing.T) {
	inv := labInventory(t)
	inv.DNSSecondary = true
	var b bytes.Buffer
	if err := WriteInventory(&b, inv); err != nil {
		t.Fatalf("WriteInventory() = %v", err)
	}
	golden := string(testutil.ReadFile(t, "testdata/inventory.golden.yaml"))
	want := strings.Replace(golden, "  ttl: 30s\n", "  ttl: 30s\n"+
		"  # Every node serves the zone too, NOTIFYed by the server: a client's\n"+
		"  # query to the anycast address is answered by the node nearest it.\n"+
		"  secondary: true\n", 1)
	if b.String() != want {
		t.Errorf("inventory with secondaries =\n%s\nwant the golden plus dns.secondary:\n%s", b.String(), want)
	}
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	testutil.WriteFile(t, path, b.Bytes(), 0o644)
	loaded, err := inventory.Load(path)
	if err != nil {
		t.Fatalf("provisioning's inventory.Load() = %v", err)
	}
	if !loaded.DNS.Secondary {
		t.Error("provisioning reads dns.secondary as false")
	}
}
