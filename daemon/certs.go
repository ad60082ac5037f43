package daemon

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certReloader serves the certificate files' current content: it re-reads them
// when either file's modification time changes, so a renewed certificate takes
// effect at the next handshake without a restart. A broken renewal keeps the
// previous certificate.
type certReloader struct {
	certFile, keyFile string

	mu   sync.Mutex
	cert *tls.Certificate
	mod  [2]time.Time
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	mod, err := c.modTimes()
	if err != nil {
		return nil, err
	}
	if err := c.load(mod); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) modTimes() ([2]time.Time, error) {
	var mod [2]time.Time
	for i, f := range []string{c.certFile, c.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			return mod, fmt.Errorf("tls certificate: %w", err)
		}
		mod[i] = st.ModTime()
	}
	return mod, nil
}

func (c *certReloader) load(mod [2]time.Time) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load tls certificate: %w", err)
	}
	c.cert, c.mod = &cert, mod
	return nil
}

// getCertificate fits tls.Config.GetCertificate.
func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if mod, err := c.modTimes(); err == nil && mod != c.mod {
		_ = c.load(mod) // on error: keep serving the previous certificate
	}
	return c.cert, nil
}
