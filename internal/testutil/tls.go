package testutil

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"counter/provisioning/pki"
)

// TLS is a throwaway CA made by the product's own pki package (so tests
// trust what the cluster trusts) and a certificate it issued for 127.0.0.1,
// good for server and client authentication, all as PEM files.
type TLS struct {
	CA                        *pki.CA
	CAFile, CertFile, KeyFile string
}

// NewTLS makes a CA and a certificate for 127.0.0.1 in a temporary directory.
func NewTLS(tb testing.TB) TLS {
	tb.Helper()
	dir := tb.TempDir()
	ca, _, err := pki.LoadOrCreateCA(dir, "test", time.Now())
	if err != nil {
		tb.Fatalf("make a CA: %v", err)
	}
	certPEM, keyPEM, err := ca.Issue("127.0.0.1", []string{"127.0.0.1"}, time.Now(), 24*time.Hour)
	if err != nil {
		tb.Fatalf("issue a certificate: %v", err)
	}
	t := TLS{CA: ca, CAFile: filepath.Join(dir, pki.CertFile),
		CertFile: filepath.Join(dir, "127.0.0.1.crt"), KeyFile: filepath.Join(dir, "127.0.0.1.key")}
	for path, b := range map[string][]byte{t.CertFile: certPEM, t.KeyFile: keyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return t
}

// Pool trusts the CA.
func (t TLS) Pool() *x509.CertPool { return t.CA.Pool() }

// ClientConfig trusts the CA and presents the certificate, which a server
// demanding client certificates from the CA accepts and others ignore.
func (t TLS) ClientConfig(tb testing.TB) *tls.Config {
	tb.Helper()
	pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{RootCAs: t.Pool(), ServerName: "127.0.0.1", Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// IssuePair issues a certificate for name and sans from ca, as a key pair
// ready for a tls.Config.
func IssuePair(tb testing.TB, ca *pki.CA, name string, sans ...string) tls.Certificate {
	tb.Helper()
	c, k, err := ca.Issue(name, sans, time.Now(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		tb.Fatal(err)
	}
	return pair
}
