//go:build !node

package ctl

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/pki"
	"counter/provisioning/redisconf"
	"counter/provisioning/sentinel"
)

// startHealthSentinel runs a real Sentinel from provision's own
// sentinel.conf (TLS with client certificates, the ACL users), watching
// the inventory's master at 127.0.0.1:6380, and returns where the probe
// finds it and counterctl's password. There is no Redis at that address:
// the sentinel names the master it was given, and alone it is its own
// quorum.
func startHealthSentinel(t *testing.T, dir string, ca *pki.CA) sentinel.Where {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue("redis master", []string{"127.0.0.1", "127.0.0.5"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w := sentinel.Where{
		PasswordFile: filepath.Join(dir, "sentinel-counterctl.pass"),
		CAFile:       filepath.Join(dir, "sentinel-ca.crt"), CertFile: filepath.Join(dir, "sentinel.crt"), KeyFile: filepath.Join(dir, "sentinel.key"),
		Port: testutil.FreePort(t),
	}
	admin := "admin-" + testutil.RandHex(t, 16)
	testutil.WriteFile(t, w.CAFile, ca.CertPEM(), 0o644)
	testutil.WriteFile(t, w.CertFile, certPEM, 0o644)
	testutil.WriteFile(t, w.KeyFile, keyPEM, 0o600)
	testutil.WriteFile(t, w.PasswordFile, []byte(admin+"\n"), 0o600)
	conf, err := redisconf.RenderSentinel(redisconf.SentinelParams{
		Node: "master", Name: "counter",
		Bind: []netip.Addr{netip.MustParseAddr("127.0.0.5")}, AnnounceIP: netip.MustParseAddr("127.0.0.5"), Port: w.Port,
		Master: netip.MustParseAddr("127.0.0.1"), Quorum: 1,
		RedisPassword: "sentinel-" + testutil.RandHex(t, 16), PeerPassword: "peer-" + testutil.RandHex(t, 16),
		CounterdPassword: "counterd-" + testutil.RandHex(t, 16), AdminPassword: admin,
		Paths: redisconf.SentinelPaths{Dir: dir, LogFile: filepath.Join(dir, "sentinel.log"), PIDFile: filepath.Join(dir, "sentinel.pid"),
			TLSCertFile: w.CertFile, TLSKeyFile: w.KeyFile, TLSCAFile: w.CAFile, ReconfigScript: "/bin/true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sentinel.conf")
	testutil.WriteFile(t, path, conf, 0o640)
	cl := redis.NewSentinelClient(&redis.Options{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(w.Port)), Username: sentinel.User, Password: admin,
		TLSConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{testutil.IssuePair(t, ca, "counterctl", "127.0.0.1")}},
		DisableIdentity: true, MaxRetries: -1, DialTimeout: time.Second,
	})
	t.Cleanup(func() { _ = cl.Close() })
	redistest.Run(t, dir, filepath.Join(dir, "sentinel.log"), func(ctx context.Context) error { return cl.Ping(ctx).Err() }, path, "--sentinel")
	return w
}
