// Package pki keeps the cluster's private certificate authority and issues
// the node certificates that Redis (mutual TLS between nodes) and counterd
// present. The CA is the trust boundary: every certificate it signs is a
// cluster member, so its key never leaves the machine that runs counterctl.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// File names inside the inventory's pki_dir.
const (
	CertFile = "ca.crt"
	KeyFile  = "ca.key"
)

// caValidity is how long a CA made by LoadOrCreateCA lasts. Leaves cannot
// outlive it, so it is long; replacing it means re-issuing every node.
const caValidity = 10 * 365 * 24 * time.Hour

// backdate puts NotBefore this far in the past, so a node whose clock runs
// behind still accepts a certificate issued a moment ago.
const backdate = time.Hour

// CA is a loaded certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer

	certPEM []byte
}

// CertPEM is the CA certificate as nodes install it (tls-ca-cert-file).
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Pool is a pool holding only this CA, for verifying its leaves.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// LoadOrCreateCA loads ca.crt and ca.key from dir, or creates both (ECDSA
// P-256, valid ten years from now) when neither exists. created reports the
// latter. A CA the admin put there is used as it is, after checking that it
// is a CA, valid at now, and that the key belongs to the certificate.
func LoadOrCreateCA(dir, cluster string, now time.Time) (ca *CA, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certOK, err := exists(certPath)
	if err != nil {
		return nil, false, err
	}
	keyOK, err := exists(keyPath)
	if err != nil {
		return nil, false, err
	}
	switch {
	case certOK && keyOK:
		ca, err := loadCA(certPath, keyPath, now)
		return ca, false, err
	case certOK:
		return nil, false, fmt.Errorf("pki dir %s has %s but no %s: put both or neither", dir, CertFile, KeyFile)
	case keyOK:
		return nil, false, fmt.Errorf("pki dir %s has %s but no %s: put both or neither", dir, KeyFile, CertFile)
	}
	if cluster == "" {
		return nil, false, errors.New("create ca: empty cluster name")
	}
	ca, err = newCA(cluster, now)
	if err != nil {
		return nil, false, err
	}
	keyPEM, err := encodeKey(ca.Key)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create pki dir: %w", err)
	}
	// The key first: a crash between the two writes leaves a key alone,
	// which the next run reports instead of silently replacing a CA.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, false, err
	}
	if err := writeFileAtomic(certPath, ca.certPEM, 0o644); err != nil {
		return nil, false, err
	}
	return ca, true, nil
}

func newCA(cluster string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cluster + " cluster CA", Organization: []string{"counter"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // it signs leaves only
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new ca certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func loadCA(certPath, keyPath string, now time.Time) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("read ca certificate: %w", err)
	}
	cert, err := parseOneCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("%s: %q is not a CA certificate (basic constraints CA:FALSE or missing)", certPath, cert.Subject.CommonName)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%s: key usage does not allow signing certificates", certPath)
	}
	if now.Before(cert.NotBefore) {
		return nil, fmt.Errorf("%s: not valid before %s (check this machine's clock)", certPath, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if !now.Before(cert.NotAfter) {
		return nil, fmt.Errorf("%s: expired %s", certPath, cert.NotAfter.UTC().Format(time.RFC3339))
	}

	fi, err := os.Stat(keyPath)
	if err != nil {
		return nil, fmt.Errorf("ca key: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %04o lets others read the CA key: chmod 600 it", keyPath, perm)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read ca key: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to %s: the key and certificate are from different pairs", keyPath, certPath)
	}
	return &CA{Cert: cert, Key: key, certPEM: certPEM}, nil
}

// parseOneCert wants exactly one certificate: an intermediate with its chain
// would also need the root installed on every node, which this does not do.
func parseOneCert(data []byte) (*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		certs = append(certs, c)
	}
	switch len(certs) {
	case 0:
		return nil, errors.New("no PEM certificate")
	case 1:
		return certs[0], nil
	}
	return nil, fmt.Errorf("%d certificates: want exactly one, the signing CA", len(certs))
}

// parseKey reads PKCS#8, SEC 1 (EC) or PKCS#1 (RSA) PEM private keys.
func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM private key")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, errors.New("private key is encrypted: counterctl needs it unencrypted (keep the pki dir private instead)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return k.(crypto.Signer), nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", key)
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// randomSerial is 128 random bits (RFC 5280 allows up to 20 octets; the CA/B
// Forum asks for at least 64 bits of entropy), never zero.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("random serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("pki: %w", err)
}

// writeFileAtomic writes via a temporary file and rename, so a reader never
// sees half a key and an interrupted run leaves no truncated file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
