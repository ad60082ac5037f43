package lab

import (
	"bytes"
	"net/netip"
	"testing"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

func TestWriteInventoryGolden(t *testing.T) {
	topo, p := defaultPlan(t)
	dns, _ := p.Member("dns")
	var b bytes.Buffer
	err := WriteInventory(&b, Inventory{
		Cluster: "lab", Zone: topo.Zone, DNSServer: netip.AddrPortFrom(dns.Address, 53),
		TSIG: TSIG{Name: "counter-update.", Algorithm: "hmac-sha256", Secret: "never-written"}, TSIGFile: "secrets/tsig.key",
		KeyFile: "ssh/id_ed25519", KnownHosts: "ssh/known_hosts",
		AdminNetwork: netip.PrefixFrom(p.HostIP, 32),
		CounterdPass: "secrets/redis-counterd.pass", ReplPass: "secrets/redis-replication.pass",
		SentinelPass: "secrets/sentinel.pass", SentinelPeerPass: "secrets/sentinel-peer.pass",
		SentinelAdminPass: "secrets/sentinel-counterctl.pass",
		PKIDir:            "pki/", Nodes: p.OfKind(KindNode), Anycast: p.Anycast,
	})
	if err != nil {
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
