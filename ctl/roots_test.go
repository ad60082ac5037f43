package ctl

import (
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// TestCounterdRootsTrustTheClusterCA: status and health verify the nodes'
// HTTPS against the cluster CA in pki_dir; before provision made one, the
// system roots alone.
func TestCounterdRootsTrustTheClusterCA(t *testing.T) {
	tc := testutil.NewTLS(t)
	leafPEM, _, err := tc.CA.Issue("node", []string{"192.0.2.10"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(leafPEM)
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	inv := &inventory.Inventory{PKIDir: t.TempDir()}
	pool, err := counterdRoots(inv)
	if err != nil {
		t.Fatalf("without a CA yet: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Error("a leaf of an unknown CA verified against the system roots")
	}
	inv.PKIDir = filepath.Dir(tc.CAFile)
	if pool, err = counterdRoots(inv); err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("a node certificate from the cluster CA: %v", err)
	}

	inv.DNS = inventory.DNS{Zone: "counter.example.net.", Service: "counter"}
	if got := counterdServerName(inv); got != "" {
		t.Errorf("server name with cluster-CA certificates = %q, want the address (empty)", got)
	}
	inv.HTTPS = inventory.HTTPS{CertFile: "/x.crt", KeyFile: "/x.key"}
	if got := counterdServerName(inv); got != "counter.counter.example.net" {
		t.Errorf("server name with the inventory's certificate = %q, want counter.counter.example.net", got)
	}
}
