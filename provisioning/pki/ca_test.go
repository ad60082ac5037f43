package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func TestLoadOrCreateCACreatesThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	ca, created, err := LoadOrCreateCA(dir, "counter", t0)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateCA(new dir) = created %v, err %v; want created", created, err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{filepath.Join(dir, KeyFile), 0o600},
		{filepath.Join(dir, CertFile), 0o644},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("mode of %s = %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
	if _, ok := ca.Key.(*ecdsa.PrivateKey); !ok || ca.Cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA key is %T, want ECDSA", ca.Key)
	}
	if !ca.Cert.IsCA || ca.Cert.Subject.CommonName != "counter cluster CA" {
		t.Errorf("CA certificate: IsCA %v, CN %q", ca.Cert.IsCA, ca.Cert.Subject.CommonName)
	}
	if !ca.Cert.NotBefore.Before(t0) || ca.Cert.NotAfter.Before(t0.Add(9*365*24*time.Hour)) {
		t.Errorf("CA validity %s..%s around %s: want backdated and years long", ca.Cert.NotBefore, ca.Cert.NotAfter, t0)
	}

	again, created, err := LoadOrCreateCA(dir, "counter", t0.Add(time.Hour))
	if err != nil || created {
		t.Fatalf("second LoadOrCreateCA = created %v, err %v; want loaded", created, err)
	}
	if !bytes.Equal(again.CertPEM(), ca.CertPEM()) || !publicKeysEqual(again.Key.Public(), ca.Key.Public()) {
		t.Error("second LoadOrCreateCA returned another CA")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("pki dir holds %d entries, want ca.crt and ca.key only", len(entries))
	}
}

// TestLoadAdminCA covers CAs the admin put in pki_dir: good ones are used
// as they are, bad ones give an error that says what is wrong.
func TestLoadAdminCA(t *testing.T) {
	ecKey := mustECKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := func() *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "admin CA"},
			NotBefore: t0.Add(-24 * time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
	}
	goodCert := selfSigned(t, caTmpl(), ecKey)
	tests := []struct {
		name      string
		cert, key []byte // nil = file absent
		keyMode   os.FileMode
		wantErr   string // "" = loads
	}{
		{name: "ecdsa sec1 key", cert: goodCert, key: pemBlock("EC PRIVATE KEY", mustSEC1(t, ecKey))},
		{name: "ecdsa pkcs8 key", cert: goodCert, key: mustPKCS8(t, ecKey)},
		{name: "rsa pkcs1 key", cert: selfSigned(t, caTmpl(), rsaKey), key: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))},
		{name: "not a CA", cert: selfSigned(t, func() *x509.Certificate {
			c := caTmpl()
			c.IsCA, c.KeyUsage = false, x509.KeyUsageDigitalSignature
			return c
		}(), ecKey), key: mustPKCS8(t, ecKey), wantErr: "is not a CA certificate"},
		{name: "expired", cert: selfSigned(t, func() *x509.Certificate {
			c := caTmpl()
			c.NotAfter = t0.Add(-time.Minute)
			return c
		}(), ecKey), key: mustPKCS8(t, ecKey), wantErr: "expired 2026-11-26T09:59:00Z"},
		{name: "not yet valid", cert: selfSigned(t, func() *x509.Certificate {
			c := caTmpl()
			c.NotBefore = t0.Add(time.Hour)
			return c
		}(), ecKey), key: mustPKCS8(t, ecKey), wantErr: "not valid before"},
		{name: "key of another pair", cert: goodCert, key: mustPKCS8(t, mustECKey(t)), wantErr: "different pairs"},
		{name: "key readable by others", cert: goodCert, key: mustPKCS8(t, ecKey), keyMode: 0o644, wantErr: "chmod 600"},
		{name: "encrypted key", cert: goodCert, key: pemBlock("ENCRYPTED PRIVATE KEY", []byte{1}), wantErr: "encrypted"},
		{name: "garbage cert", cert: []byte("hello"), key: mustPKCS8(t, ecKey), wantErr: "no PEM certificate"},
		{name: "two certs", cert: append(append([]byte{}, goodCert...), goodCert...), key: mustPKCS8(t, ecKey), wantErr: "want exactly one"},
		{name: "cert without key", cert: goodCert, wantErr: "has ca.crt but no ca.key"},
		{name: "key without cert", key: mustPKCS8(t, ecKey), wantErr: "has ca.key but no ca.crt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.cert != nil {
				mustWrite(t, filepath.Join(dir, CertFile), tt.cert, 0o644)
			}
			if tt.key != nil {
				mode := tt.keyMode
				if mode == 0 {
					mode = 0o600
				}
				mustWrite(t, filepath.Join(dir, KeyFile), tt.key, mode)
			}
			ca, created, err := LoadOrCreateCA(dir, "counter", t0)
			if tt.wantErr == "" {
				if err != nil || created {
					t.Fatalf("LoadOrCreateCA = created %v, err %v; want the admin's CA", created, err)
				}
				if !bytes.Equal(ca.CertPEM(), tt.cert) {
					t.Error("loaded CA is not the admin's certificate")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadOrCreateCA err = %v, want one containing %q", err, tt.wantErr)
			}
			// A bad CA is reported, never replaced.
			if got, _ := os.ReadFile(filepath.Join(dir, CertFile)); !bytes.Equal(got, tt.cert) {
				t.Error("ca.crt was changed")
			}
		})
	}
}

func mustECKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func selfSigned(tb testing.TB, tmpl *x509.Certificate, key crypto.Signer) []byte {
	tb.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	return pemBlock("CERTIFICATE", der)
}

func mustSEC1(tb testing.TB, k *ecdsa.PrivateKey) []byte {
	tb.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

func mustPKCS8(tb testing.TB, k crypto.Signer) []byte {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mustWrite(tb testing.TB, path string, data []byte, mode os.FileMode) {
	tb.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is filtered by the umask
		tb.Fatal(err)
	}
}
