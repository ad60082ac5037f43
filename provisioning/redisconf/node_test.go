package redisconf

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"counter/internal/redisinfo"
	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/pki"
)

// node is one real redis-server started from a configuration made by
// Render, with only paths, ports and addresses moved into a temporary
// directory and onto 127.0.0.x so it runs unprivileged.
type node struct {
	name     string
	addr     string // the "node address", a 127.0.0.x other than 127.0.0.1
	port     int
	dir      string
	confPath string
	paths    Paths
	proc     *redistest.Process
}

type cluster struct {
	ca                  *pki.CA
	counterdCert        tls.Certificate // what counterd presents
	counterdPassword    string
	replicationPassword string
	// Set by Sentinel tests: the nodes get the ACL user sentinel and fencing.
	sentinelPassword string
	minReplicas      int
	// Set by counterctl tests: the nodes get the ACL user counterctl.
	counterctlPassword string
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	ca, _, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "pki"), "counter", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{ca: ca, counterdPassword: "counterd-" + testutil.RandHex(t, 16), replicationPassword: "replication-" + testutil.RandHex(t, 16)}
	c.counterdCert = testutil.IssuePair(t, ca, "counterd", "127.0.0.1")
	return c
}

// start renders role's configuration, installs the files it names and
// starts redis-server (redistest.Run: stopped by pid when the test ends).
func (c *cluster) start(t testing.TB, role Role, name, addr string, master *node) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{name: name, addr: addr, port: testutil.FreePort(t), dir: dir}
	n.paths = Paths{
		Dir:         filepath.Join(dir, "data"),
		LogFile:     filepath.Join(dir, "redis.log"),
		PIDFile:     filepath.Join(dir, "redis.pid"),
		UnixSocket:  filepath.Join(dir, "redis.sock"),
		TLSCertFile: filepath.Join(dir, "tls", "redis.crt"),
		TLSKeyFile:  filepath.Join(dir, "tls", "redis.key"),
		TLSCAFile:   filepath.Join(dir, "tls", "ca.crt"),
	}
	p := Params{
		Role: role, Node: name,
		Bind: []netip.Addr{netip.MustParseAddr(addr)}, Port: n.port,
		CounterdPassword: c.counterdPassword, ReplicationPassword: c.replicationPassword,
		MaxMemory: 64 << 20, Paths: n.paths,
		SentinelPassword: c.sentinelPassword, MinReplicasToWrite: c.minReplicas,
		CounterctlPassword: c.counterctlPassword,
	}
	if master != nil {
		p.Master, p.MasterPort = master.addr, master.port
	}
	conf, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := c.ca.Issue(name, CertSANs(addr, p.Bind), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	n.confPath = filepath.Join(dir, "redis.conf")
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{n.paths.TLSCAFile, c.ca.CertPEM(), 0o644},
		{n.paths.TLSCertFile, certPEM, 0o644},
		{n.paths.TLSKeyFile, keyPEM, 0o600},
		{n.confPath, conf, 0o640},
	} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(n.paths.Dir, 0o750); err != nil {
		t.Fatal(err)
	}

	client := c.counterd(t, n, "127.0.0.1") // PING as counterd over TLS says it is ready
	n.proc = redistest.Run(t, dir, n.paths.LogFile, func(ctx context.Context) error { return client.Ping(ctx).Err() }, n.confPath)
	return n
}

// counterd is a client as counter/daemon/store makes it (same handshake
// options), logging in as counterd with the counterd certificate.
func (c *cluster) counterd(t testing.TB, n *node, host string) *redis.Client {
	return c.client(t, n, host, "counterd", c.counterdPassword, []tls.Certificate{c.counterdCert})
}

func (c *cluster) client(t testing.TB, n *node, host, user, password string, certs []tls.Certificate) *redis.Client {
	t.Helper()
	cl := redis.NewClient(&redis.Options{
		Addr:     net.JoinHostPort(host, strconv.Itoa(n.port)),
		Username: user, Password: password,
		TLSConfig: &tls.Config{
			RootCAs: c.ca.Pool(), ServerName: host, Certificates: certs, MinVersion: tls.VersionTLS12,
		},
		ClientName:               clientName(user),
		DisableIdentity:          true, // Redis 7.0 has no CLIENT SETINFO
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		DialTimeout:              2 * time.Second,
		ReadTimeout:              2 * time.Second,
		WriteTimeout:             2 * time.Second,
		MaxRetries:               -1, // report the first refusal as it is
		PoolSize:                 2,
	})
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// clientName is what go-redis names the connection with (CLIENT SETNAME
// after HELLO): counterd does, and only counterd may.
func clientName(user string) string {
	if user == "counterd" {
		return "counterd"
	}
	return ""
}

// info returns one INFO section as fields.
func info(ctx context.Context, cl *redis.Client, section string) (redisinfo.Fields, error) {
	s, err := cl.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	return redisinfo.Parse(s), nil
}
