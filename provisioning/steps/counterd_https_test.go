package steps

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/phase"
)

// TestCounterdServesHTTPS: every node's counterd serves HTTPS on 443 with a
// certificate from the cluster CA for the names clients use (every
// continent's name: DNS may point any of them at this node), redirects 80,
// and names itself; a second run changes nothing; a certificate near expiry
// is renewed on the next run.
func TestCounterdServesHTTPS(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	ctx := context.Background()
	zone := strings.TrimSuffix(c.Inv.DNS.Zone, ".")
	for _, n := range c.Inv.Nodes {
		h := hosts[n.Name]
		if _, err := (Counterd{c: c}).Run(ctx, h); err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		conf := string(h.st.files[CounterdConfig].content)
		for _, want := range []string{`listen: ":443"`, "tls-cert: " + CounterdHTTPSCert, "tls-key: " + CounterdHTTPSKey,
			`http-redirect-addr: ":80"`, "node-name: " + n.Name} {
			if !strings.Contains(conf, want+"\n") {
				t.Errorf("counterd.yaml of %s lacks %q:\n%s", n.Name, want, conf)
			}
		}
		cert := mustLeaf(t, h.st.files[CounterdHTTPSCert].content)
		if key := h.st.files[CounterdHTTPSKey]; len(key.content) == 0 || key.mode != "640:root:counterd" {
			t.Errorf("%s: https.key mode %q, %d bytes; want 640:root:counterd", n.Name, key.mode, len(key.content))
		}
		svc := c.Inv.DNS.Service + "." + zone
		names := []string{svc, n.Name + ".nodes." + zone, n.Address}
		// Every continent's name: when one continent has no healthy node,
		// DNS points its name at another continent's node.
		for _, cont := range inventory.Continents() {
			names = append(names, cont+"."+svc)
		}
		for _, name := range names {
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: c.CA.Pool(), CurrentTime: c.now(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("%s: certificate does not verify for %s: %v", n.Name, name, err)
			}
		}
		if r, err := (Counterd{c: c}).Run(ctx, h); err != nil || r.Status != phase.OK {
			t.Errorf("%s: second run = %v (%v), %v; want ok", n.Name, r.Status, r.Changes, err)
		}
	}

	// 340 days on, the 365-day certificate is within RenewWithin: renewed.
	na := hosts["na"]
	old := na.st.files[CounterdHTTPSCert].content
	later := c.now().Add(340 * 24 * time.Hour)
	c.Now = func() time.Time { return later }
	r, err := (Counterd{c: c}).Run(ctx, na)
	if err != nil || r.Status != phase.Changed {
		t.Fatalf("run 340 days later = %v, %v; want changed", r.Status, err)
	}
	renewed := mustLeaf(t, na.st.files[CounterdHTTPSCert].content)
	if string(old) == string(na.st.files[CounterdHTTPSCert].content) || !renewed.NotAfter.After(later.Add(RenewWithin)) {
		t.Errorf("certificate not renewed: expires %v", renewed.NotAfter)
	}
}

func mustLeaf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatalf("no certificate PEM in %q", certPEM)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestCounterdUsesTheInventorysCertificate: with https: in the inventory
// (a public CA's certificate), every node gets exactly those files, and a
// second run changes nothing.
func TestCounterdUsesTheInventorysCertificate(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	dir := t.TempDir()
	certPEM, keyPEM, err := c.CA.Issue("public", []string{"counter.test.example"}, c.now(), CertValidity)
	if err != nil {
		t.Fatal(err)
	}
	c.Inv.HTTPS = inventory.HTTPS{CertFile: filepath.Join(dir, "public.crt"), KeyFile: filepath.Join(dir, "public.key")}
	for p, b := range map[string][]byte{c.Inv.HTTPS.CertFile: certPEM, c.Inv.HTTPS.KeyFile: keyPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, n := range c.Inv.Nodes {
		h := hosts[n.Name]
		if _, err := (Counterd{c: c}).Run(ctx, h); err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if got := h.st.files[CounterdHTTPSCert].content; string(got) != string(certPEM) {
			t.Errorf("%s: https.crt is not the inventory's certificate", n.Name)
		}
		if key := h.st.files[CounterdHTTPSKey]; string(key.content) != string(keyPEM) || key.mode != "640:root:counterd" {
			t.Errorf("%s: https.key is not the inventory's key with mode 640:root:counterd (%q)", n.Name, key.mode)
		}
		if r, err := (Counterd{c: c}).Run(ctx, h); err != nil || r.Status != phase.OK {
			t.Errorf("%s: second run = %v (%v), %v; want ok", n.Name, r.Status, r.Changes, err)
		}
	}
}
