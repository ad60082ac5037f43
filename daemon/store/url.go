package store

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// clientOptions turns redis://[user:pass@]host:port/db (or rediss:// for
// TLS) into go-redis options. Errors never contain the URL, since it may
// carry a password; redacted is the URL safe to log.
func clientOptions(raw, password string, tlsm tlsMaterial, o Options) (opts *redis.Options, redacted string, err error) {
	if raw == "" {
		return nil, "", errors.New("empty redis url")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the whole URL, password included
		}
		return nil, "", fmt.Errorf("invalid redis url: %w", err)
	}
	redacted = u.Redacted()
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, "", fmt.Errorf("redis url %s: scheme must be redis or rediss", redacted)
	}
	if u.Hostname() == "" {
		return nil, "", fmt.Errorf("redis url %s: missing host", redacted)
	}
	if u.RawQuery != "" {
		// go-redis would read timeouts and pool sizes from the query, which
		// the fields below then silently override; refuse instead.
		return nil, "", fmt.Errorf("redis url %s: query options are not supported", redacted)
	}
	opts, err = redis.ParseURL(raw)
	if err != nil {
		// go-redis's messages name the bad part (db number, option), not the password.
		return nil, "", fmt.Errorf("redis url %s: %w", redacted, err)
	}
	if opts.Password == "" {
		opts.Password = password
	}
	if opts.TLSConfig != nil {
		opts.TLSConfig.RootCAs = tlsm.roots // ServerName is the URL's host, TLS 1.2 at least
		opts.TLSConfig.Certificates = tlsm.certs
	}
	// One command never waits longer than Timeout; the context deadline set by
	// every method covers pool waits, dials and retries together.
	opts.DialTimeout = o.Timeout
	opts.ReadTimeout = o.Timeout
	opts.WriteTimeout = o.Timeout
	opts.PoolTimeout = o.Timeout
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = 1 // one retry replaces a pooled connection broken by a Redis restart
	opts.DialerRetries = 1
	opts.PoolSize = o.PoolSize
	opts.MinIdleConns = 1
	opts.PipelinePoolSize = -1 // the poll's one pipeline shares the main pool
	opts.ClientName = "counterd"
	// Redis 7.0 (Debian 12) knows neither CLIENT SETINFO nor maintenance
	// notifications; skip both instead of sending commands that fail.
	opts.DisableIdentity = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opts, redacted, nil
}

// tlsMaterial is what rediss:// connections trust and present.
type tlsMaterial struct {
	roots *x509.CertPool    // nil: system roots
	certs []tls.Certificate // the client certificate, if any
}

func loadTLS(o Options) (tlsMaterial, error) {
	var m tlsMaterial
	var err error
	if m.roots, err = loadCAs(o.CAFile); err != nil {
		return m, err
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return m, errors.New("redis client certificate: give both the certificate and the key file, or neither")
	}
	if o.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return m, fmt.Errorf("redis client certificate: %w", err)
		}
		m.certs = []tls.Certificate{pair}
	}
	return m, nil
}

// loadCAs reads the PEM CA file for rediss:// URLs; nil (system roots) for "".
func loadCAs(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("redis ca file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("redis ca file %s: no PEM certificates", path)
	}
	return pool, nil
}
