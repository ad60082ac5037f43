package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Issue signs a new leaf certificate for name with a fresh ECDSA P-256 key.
// sans are IP addresses and DNS names; the certificate serves both TLS
// server and client authentication, since Redis replication is mutual TLS.
// It is valid from now (less the backdate) and may not outlive the CA. now is
// the caller's clock, the one NeedsRenewal will later be asked with.
func (ca *CA) Issue(name string, sans []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if name == "" {
		return nil, nil, errors.New("issue certificate: empty name")
	}
	if validity <= 0 {
		return nil, nil, fmt.Errorf("issue certificate for %s: validity %s must be positive", name, validity)
	}
	ips, dns, err := parseSANs(sans)
	if err != nil {
		return nil, nil, fmt.Errorf("issue certificate for %s: %w", name, err)
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		return nil, nil, fmt.Errorf("issue certificate for %s: %s would outlive the CA, which expires %s: renew the CA",
			name, validity, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key for %s: %w", name, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate for %s: %w", name, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// NeedsRenewal reports whether the leaf certPEM must be issued again for
// sans, and why: it is missing or unreadable, was not signed by ca, names
// other SANs (order and case do not matter), lacks server or client usage,
// is not yet valid, or expires within the given time of now. An unchanged,
// healthy certificate gives false, so a second provisioning run changes
// nothing.
func NeedsRenewal(certPEM []byte, ca *CA, sans []string, now time.Time, within time.Duration) (bool, string) {
	if len(certPEM) == 0 {
		return true, "no certificate"
	}
	if ca == nil {
		return true, "no CA to check against"
	}
	cert, err := parseOneCert(certPEM)
	if err != nil {
		return true, "unreadable certificate: " + err.Error()
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		return true, fmt.Sprintf("issued by another CA (%q)", cert.Issuer.CommonName)
	}
	ips, dns, err := parseSANs(sans)
	if err != nil {
		return true, "wanted SANs: " + err.Error()
	}
	have := sanList(cert.IPAddresses, cert.DNSNames)
	if want := sanList(ips, dns); !slices.Equal(have, want) {
		return true, fmt.Sprintf("SANs changed: have %s, want %s", strings.Join(have, ","), strings.Join(want, ","))
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		return true, "not usable for both server and client authentication"
	}
	if now.Before(cert.NotBefore) {
		return true, "not valid before " + cert.NotBefore.UTC().Format(time.RFC3339)
	}
	if left := cert.NotAfter.Sub(now); left < within {
		if left <= 0 {
			return true, "expired " + cert.NotAfter.UTC().Format(time.RFC3339)
		}
		return true, fmt.Sprintf("expires %s, within %s", cert.NotAfter.UTC().Format(time.RFC3339), within)
	}
	return false, ""
}

// CheckPair reports an error unless keyPEM is the private key of certPEM,
// for files read back from a node (an interrupted install can leave a new
// certificate beside an old key).
func CheckPair(certPEM, keyPEM []byte) error {
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return fmt.Errorf("certificate and key: %w", err)
	}
	return nil
}

// parseSANs splits sans into IP addresses and DNS names, normalised
// (canonical IP form, lower-case names without a trailing dot) and deduplicated.
func parseSANs(sans []string) ([]net.IP, []string, error) {
	if len(sans) == 0 {
		return nil, nil, errors.New("no subject alternative names")
	}
	var ips []net.IP
	var dns []string
	seen := make(map[string]bool)
	for _, s := range sans {
		if a, err := netip.ParseAddr(s); err == nil {
			if a.Zone() != "" {
				return nil, nil, fmt.Errorf("SAN %q: zoned address", s)
			}
			a = a.Unmap()
			if !seen[a.String()] {
				seen[a.String()] = true
				ips = append(ips, net.IP(a.AsSlice()))
			}
			continue
		}
		name := strings.TrimSuffix(strings.ToLower(s), ".")
		if !validDNSName(name) {
			return nil, nil, fmt.Errorf("SAN %q: neither an IP address nor a DNS name", s)
		}
		if !seen[name] {
			seen[name] = true
			dns = append(dns, name)
		}
	}
	return ips, dns, nil
}

// validDNSName accepts LDH host names (no wildcards: nodes get exact names).
func validDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// sanList is a sorted, comparable form of a SAN set.
func sanList(ips []net.IP, dns []string) []string {
	out := make([]string, 0, len(ips)+len(dns))
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap().String())
		}
	}
	for _, d := range dns {
		out = append(out, strings.TrimSuffix(strings.ToLower(d), "."))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
