package inventory

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// HTTPS names the certificate and key every serving node presents, e.g.
// from a public CA, instead of one per node from the cluster CA. Both
// empty: the cluster CA issues them.
type HTTPS struct {
	CertFile string // PEM chain, leaf first; absolute path
	KeyFile  string // its private key; absolute path
}

// Given reports whether the inventory names its own certificate.
func (h HTTPS) Given() bool { return h.CertFile != "" }

// https decodes the `https:` section. The files are read here, so a
// missing, mismatched or misnamed certificate is reported at its line
// before anything connects.
func (d *decoder) https(n *yaml.Node) (HTTPS, *x509.Certificate) {
	var out HTTPS
	m, ok := d.mapping(n, "https", "cert_file", "key_file")
	if !ok {
		return out, nil
	}
	cv, kv := d.require(m, "cert_file"), d.require(m, "key_file")
	if cv == nil || kv == nil {
		return out, nil
	}
	certFile, ok1 := d.path(cv, "https.cert_file")
	keyFile, ok2 := d.path(kv, "https.key_file")
	if !ok1 || !ok2 {
		return out, nil
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		d.failf(cv, "https.cert_file", "%v", err)
	}
	keyPEM, kerr := os.ReadFile(keyFile)
	if kerr != nil {
		// The *PathError names the file, never its content.
		d.failf(kv, "https.key_file", "%v", kerr)
	}
	if err != nil || kerr != nil {
		return out, nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		d.failf(cv, "https.cert_file", "does not load with https.key_file: %v", err)
		return out, nil
	}
	return HTTPS{CertFile: certFile, KeyFile: keyFile}, pair.Leaf
}

// httpsNames reports the names users reach the service by that the
// inventory's own certificate does not cover: the service name and each
// continent's name under the zone (a wildcard covers the continents).
func (d *decoder) httpsNames(n *yaml.Node, leaf *x509.Certificate, inv *Inventory) {
	if leaf == nil || inv.DNS.Zone == "" {
		return
	}
	svc := inv.DNS.Service + "." + strings.TrimSuffix(inv.DNS.Zone, ".")
	names := []string{svc}
	for _, node := range inv.Nodes {
		if name := node.Continent + "." + svc; !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	var missing []string
	for _, name := range names {
		if leaf.VerifyHostname(name) != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		d.failf(n, "https.cert_file", "the certificate does not name %s (it names %s)",
			strings.Join(missing, ", "), strings.Join(leaf.DNSNames, ", "))
	}
}
