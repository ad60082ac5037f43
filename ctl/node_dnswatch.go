package ctl

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"counter/provisioning/anycast"
	"counter/provisioning/dnsupdate"
	"counter/provisioning/dnswatch"
)

type dnsWatchOptions struct {
	config                   string
	tsigFile                 string
	sentinelUser             string
	sentinelPassFile         string
	tlsCert, tlsKey, tlsCA   string
	rise, fall               int
	interval, timeout, every time.Duration
}

// newNodeDNSWatchCmd runs the DNS watcher (counter-dns-watch.service).
func newNodeDNSWatchCmd() *cobra.Command {
	o := dnsWatchOptions{
		config: dnswatch.ConfigPath, sentinelUser: "counterctl",
		rise: 3, fall: 2, interval: time.Second, timeout: 1500 * time.Millisecond, every: time.Minute,
	}
	cmd := &cobra.Command{
		Use:   "dns-watch",
		Short: "Keep the cluster's names in its DNS zone in step (runs on every node; only the master's publishes)",
		Long: `Every --interval, asks every node's /readyz (200 is ready) and the local
sentinel which Redis is master (SENTINEL GET-MASTER-ADDR-BY-NAME, then
CKQUORUM). A node counts as healthy after --rise good checks in a row and
unhealthy after --fall failed ones. Only the node the sentinel names master,
with a quorum of sentinels reachable, publishes: the same records as
` + "`counterctl dns publish`" + `, with one TSIG-signed update, whenever they change (and
every --resync). The others stand by and take over when promoted. A round
that would leave the service name without an address publishes nothing.

The configuration (--config) is written by provision; the TSIG secret and
the sentinel's password and TLS files are handed over by systemd
(LoadCredential), so the service runs with no privilege.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := o.watcher(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
			if err != nil {
				return err
			}
			return w.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", o.config, "the watcher's configuration `file` (written by provision)")
	f.StringVar(&o.tsigFile, "tsig-file", "", "`file` holding the TSIG key's base64 secret")
	f.StringVar(&o.sentinelUser, "sentinel-user", o.sentinelUser, "the local sentinel's ACL `user`")
	f.StringVar(&o.sentinelPassFile, "sentinel-password-file", "", "`file` holding that user's password")
	f.StringVar(&o.tlsCert, "tls-cert", "", "client certificate `file` for the sentinel (none: plain TCP)")
	f.StringVar(&o.tlsKey, "tls-key", "", "its key `file`")
	f.StringVar(&o.tlsCA, "tls-ca", "", "the cluster CA `file` the sentinel's certificate is checked against")
	f.IntVar(&o.rise, "rise", o.rise, "good /readyz checks in a row before a node is published")
	f.IntVar(&o.fall, "fall", o.fall, "failed /readyz checks in a row before a node is withdrawn")
	f.DurationVar(&o.interval, "interval", o.interval, "time between rounds")
	f.DurationVar(&o.timeout, "timeout", o.timeout, "timeout of one /readyz check and of one sentinel question")
	f.DurationVar(&o.every, "resync", o.every, "publish this often even without a change (repairs edits behind the watcher's back)")
	_ = cmd.MarkFlagRequired("tsig-file")
	return cmd
}

func (o *dnsWatchOptions) watcher(log *slog.Logger) (*dnswatch.Watcher, error) {
	cfg, err := dnswatch.Load(o.config)
	if err != nil {
		return nil, err
	}
	secret, err := readSecretFile("TSIG secret", o.tsigFile)
	if err != nil {
		return nil, err
	}
	s := &dnswatch.Sentinel{Addr: cfg.Sentinel, Name: cfg.Cluster, Timeout: o.timeout}
	if o.sentinelPassFile != "" {
		pw, err := readSecretFile("sentinel password", o.sentinelPassFile)
		if err != nil {
			return nil, err
		}
		s.User, s.Password = o.sentinelUser, pw
	}
	if o.tlsCert != "" || o.tlsKey != "" || o.tlsCA != "" {
		if s.TLS, err = clientTLS(o.tlsCert, o.tlsKey, o.tlsCA); err != nil {
			return nil, err
		}
	}
	store := &dnsupdate.Server{Addr: cfg.Server, Timeout: 10 * time.Second,
		Key: dnsupdate.Key{Name: cfg.TSIGName, Algorithm: cfg.TSIGAlg, Secret: secret}}
	return dnswatch.New(cfg, dnswatch.Options{
		Counts: anycast.Counts{Rise: o.rise, Fall: o.fall}, Interval: o.interval, Timeout: o.timeout, Resync: o.every,
		Master: s, Store: store, Logger: log,
	})
}

// readSecretFile reads a one-line secret; errors name the file, never the value.
func readSecretFile(what, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s: no file given", what)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return "", fmt.Errorf("%s: %s is empty", what, path)
	}
	return string(b), nil
}

// clientTLS is a TLS client with a certificate, trusting only ca.
func clientTLS(cert, key, ca string) (*tls.Config, error) {
	if cert == "" || key == "" || ca == "" {
		return nil, errors.New("sentinel TLS: --tls-cert, --tls-key and --tls-ca go together")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("sentinel TLS: %w", err)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("sentinel TLS: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("sentinel TLS: no certificate in %s", ca)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
