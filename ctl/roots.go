package ctl

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"counter/provisioning/inventory"
	"counter/provisioning/pki"
)

// counterdServerName is the name the nodes' HTTPS is checked for: with
// the inventory's own certificate, the service name it was checked to
// carry; else each node's address, which the cluster CA's certificates carry.
func counterdServerName(inv *inventory.Inventory) string {
	if !inv.HTTPS.Given() {
		return ""
	}
	return inv.DNS.Service + "." + strings.TrimSuffix(inv.DNS.Zone, ".")
}

// counterdRoots are the CAs that verify the nodes' HTTPS: the system roots
// and the cluster CA in the inventory's pki_dir, when there is one yet.
func counterdRoots(inv *inventory.Inventory) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	path := filepath.Join(inv.PKIDir, pki.CertFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return pool, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("cluster CA %s: no PEM certificate", path)
	}
	return pool, nil
}
