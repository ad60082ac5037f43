package steps

import (
	"context"
	"fmt"
	"os"
	"strings"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
)

// counterd's HTTPS certificate and key: from the cluster CA, re-issued when
// NeedsRenewal says so (names changed, a month before expiry). counterd
// re-reads them at the next handshake, so a renewal needs no restart.
const (
	CounterdHTTPSCert = CounterdTLSDir + "/https.crt"
	CounterdHTTPSKey  = CounterdTLSDir + "/https.key"
	// CounterdHTTPS and CounterdHTTP are counterd's public ports: HTTPS,
	// and plain HTTP that redirects to it (the health endpoints answer
	// there directly). The firewall opens both.
	CounterdHTTPS = ":443"
	CounterdHTTP  = ":80"
)

// HTTPSNames are the names and addresses a node's HTTPS certificate
// carries: the service name, every continent's name, its own name under the
// zone (the names `counterctl dns publish` serves), its address, and the
// anycast address when the inventory has one, so a client that reaches the
// node by any of them verifies it. Every continent's, not only its own: a
// continent whose nodes are all unhealthy has its name pointed at the
// nearest healthy node elsewhere (dnsupdate.Want), and that node must then
// verify for it, as the inventory's own certificate must (https:).
// names[2], the node's own name, is the certificate's subject.
func (c *Cluster) HTTPSNames(n inventory.Node) ([]string, error) {
	a, err := c.addr(n)
	if err != nil {
		return nil, err
	}
	zone := strings.TrimSuffix(c.Inv.DNS.Zone, ".")
	svc := c.Inv.DNS.Service + "." + zone
	names := []string{svc, n.Continent + "." + svc, n.Name + ".nodes." + zone, a.String()}
	if n.Address != a.String() {
		names = append(names, n.Address) // a DNS name in the inventory
	}
	if any := c.Inv.Anycast.Address; any.IsValid() {
		names = append(names, any.String())
	}
	for _, other := range inventory.Continents() {
		if other != n.Continent {
			names = append(names, other+"."+svc)
		}
	}
	return names, nil
}

// ensureHTTPSCert keeps counterd's HTTPS certificate on the node: the
// files the inventory names (checked when it was loaded), else one from
// the cluster CA.
func (c *Cluster) ensureHTTPSCert(ctx context.Context, h host.Host, n inventory.Node) ([]*host.Change, error) {
	if own := c.Inv.HTTPS; own.Given() {
		certPEM, err := os.ReadFile(own.CertFile)
		if err != nil {
			return nil, fmt.Errorf("https.cert_file: %w", err)
		}
		keyPEM, err := os.ReadFile(own.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("https.key_file: %w", err)
		}
		kc, err := h.EnsureFile(ctx, host.File{Path: CounterdHTTPSKey, Content: keyPEM, Mode: 0o640, Group: counterdUser, Secret: true})
		if err != nil {
			return nil, err
		}
		cc, err := h.EnsureFile(ctx, host.File{Path: CounterdHTTPSCert, Content: certPEM, Mode: 0o644})
		if err != nil {
			return nil, err
		}
		return []*host.Change{kc, cc}, nil
	}
	names, err := c.HTTPSNames(n)
	if err != nil {
		return nil, err
	}
	return c.ensureCert(ctx, h, names[2], names, CounterdHTTPSCert, CounterdHTTPSKey, counterdUser)
}
