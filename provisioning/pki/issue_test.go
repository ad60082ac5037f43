package pki

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func mustCA(tb testing.TB, now time.Time) *CA {
	tb.Helper()
	ca, _, err := LoadOrCreateCA(tb.TempDir(), "counter", now)
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

func mustParse(tb testing.TB, certPEM []byte) *x509.Certificate {
	tb.Helper()
	c, err := parseOneCert(certPEM)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestIssueVerifies(t *testing.T) {
	ca := mustCA(t, t0)
	foreign := mustCA(t, t0)
	certPEM, keyPEM, err := ca.Issue("na", []string{"198.51.100.20", "na.counter.example.net", "127.0.0.1"}, t0, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPair(certPEM, keyPEM); err != nil {
		t.Fatalf("CheckPair(issued pair) = %v", err)
	}
	leaf := mustParse(t, certPEM)
	tests := []struct {
		name  string
		pool  *x509.CertPool
		host  string
		usage x509.ExtKeyUsage
		ok    bool
	}{
		{name: "server by ip", pool: ca.Pool(), host: "198.51.100.20", usage: x509.ExtKeyUsageServerAuth, ok: true},
		{name: "server by name", pool: ca.Pool(), host: "na.counter.example.net", usage: x509.ExtKeyUsageServerAuth, ok: true},
		{name: "server on loopback", pool: ca.Pool(), host: "127.0.0.1", usage: x509.ExtKeyUsageServerAuth, ok: true},
		{name: "client", pool: ca.Pool(), usage: x509.ExtKeyUsageClientAuth, ok: true},
		{name: "other ip", pool: ca.Pool(), host: "198.51.100.21", usage: x509.ExtKeyUsageServerAuth},
		{name: "other name", pool: ca.Pool(), host: "sa.counter.example.net", usage: x509.ExtKeyUsageServerAuth},
		{name: "foreign ca", pool: foreign.Pool(), host: "198.51.100.20", usage: x509.ExtKeyUsageServerAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := leaf.Verify(x509.VerifyOptions{Roots: tt.pool, DNSName: tt.host, CurrentTime: t0,
				KeyUsages: []x509.ExtKeyUsage{tt.usage}})
			if (err == nil) != tt.ok {
				t.Errorf("Verify(host %q, usage %v) = %v, want ok %v", tt.host, tt.usage, err, tt.ok)
			}
		})
	}
	if !leaf.NotBefore.Before(t0) {
		t.Errorf("NotBefore %s not before issue time %s: clock skew would reject it", leaf.NotBefore, t0)
	}
	if leaf.Subject.CommonName != "na" || leaf.IsCA {
		t.Errorf("leaf CN %q IsCA %v, want CN na and not a CA", leaf.Subject.CommonName, leaf.IsCA)
	}
	if blk, _ := pem.Decode(keyPEM); blk == nil || blk.Type != "PRIVATE KEY" {
		t.Error("key is not a PKCS#8 PEM block")
	}
}

func TestIssueSerialsRandom(t *testing.T) {
	ca := mustCA(t, t0)
	seen := make(map[string]bool)
	for range 20 {
		c, _, err := ca.Issue("n", []string{"n.example"}, t0, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s := mustParse(t, c).SerialNumber
		if s.Sign() <= 0 || s.BitLen() > 128 || seen[s.String()] {
			t.Fatalf("serial %s: want positive, at most 128 bits, unique", s)
		}
		seen[s.String()] = true
	}
}

func TestIssueErrors(t *testing.T) {
	ca := mustCA(t, t0)
	tests := []struct {
		name     string
		cn       string
		sans     []string
		validity time.Duration
		want     string
	}{
		{name: "no name", sans: []string{"a.example"}, validity: time.Hour, want: "empty name"},
		{name: "no sans", cn: "a", validity: time.Hour, want: "no subject alternative names"},
		{name: "bad san", cn: "a", sans: []string{"a b"}, validity: time.Hour, want: `SAN "a b"`},
		{name: "wildcard", cn: "a", sans: []string{"*.example"}, validity: time.Hour, want: `SAN "*.example"`},
		{name: "zero validity", cn: "a", sans: []string{"a.example"}, want: "must be positive"},
		{name: "outlives ca", cn: "a", sans: []string{"a.example"}, validity: 20 * 365 * 24 * time.Hour, want: "renew the CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ca.Issue(tt.cn, tt.sans, t0, tt.validity)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Issue(%q, %q, %s) err = %v, want %q", tt.cn, tt.sans, tt.validity, err, tt.want)
			}
		})
	}
}

func TestNeedsRenewal(t *testing.T) {
	ca := mustCA(t, t0)
	other := mustCA(t, t0)
	sans := []string{"198.51.100.20", "na.counter.example.net"}
	const validity = 90 * 24 * time.Hour
	cert, _, err := ca.Issue("na", sans, t0, validity)
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue("na", sans, t0, validity)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cert   []byte
		sans   []string
		now    time.Time
		within time.Duration
		want   string // "" = no renewal
	}{
		{name: "fresh", cert: cert, sans: sans, now: t0, within: 30 * 24 * time.Hour},
		{name: "same sans other order and case", cert: cert, sans: []string{"NA.counter.example.net.", "198.51.100.20"}, now: t0, within: 30 * 24 * time.Hour},
		{name: "missing", sans: sans, now: t0, want: "no certificate"},
		{name: "garbage", cert: []byte("-----BEGIN NONSENSE-----"), sans: sans, now: t0, want: "unreadable"},
		{name: "other ca", cert: foreign, sans: sans, now: t0, want: "issued by another CA"},
		{name: "san added", cert: cert, sans: append([]string{"127.0.0.1"}, sans...), now: t0,
			want: "SANs changed: have 198.51.100.20,na.counter.example.net, want 127.0.0.1,198.51.100.20,na.counter.example.net"},
		{name: "address changed", cert: cert, sans: []string{"198.51.100.99", "na.counter.example.net"}, now: t0, want: "SANs changed"},
		{name: "expiry near", cert: cert, sans: sans, now: t0.Add(validity - 10*24*time.Hour), within: 30 * 24 * time.Hour, want: "within 720h0m0s"},
		{name: "expired", cert: cert, sans: sans, now: t0.Add(validity + time.Second), within: time.Hour, want: "expired"},
		{name: "clock before issue", cert: cert, sans: sans, now: t0.Add(-2 * time.Hour), want: "not valid before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			renew, reason := NeedsRenewal(tt.cert, ca, tt.sans, tt.now, tt.within)
			if renew != (tt.want != "") || !strings.Contains(reason, tt.want) {
				t.Errorf("NeedsRenewal = %v, %q; want renew %v with %q", renew, reason, tt.want != "", tt.want)
			}
		})
	}
	if renew, reason := NeedsRenewal(cert, nil, sans, t0, 0); !renew || reason == "" {
		t.Errorf("NeedsRenewal(nil CA) = %v, %q; want renewal with a reason", renew, reason)
	}
}

func TestCheckPairMismatch(t *testing.T) {
	ca := mustCA(t, t0)
	certA, _, err := ca.Issue("a", []string{"a.example"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, keyB, err := ca.Issue("b", []string{"b.example"}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPair(certA, keyB); err == nil {
		t.Error("CheckPair(cert a, key b) = nil, want a mismatch error")
	}
}
