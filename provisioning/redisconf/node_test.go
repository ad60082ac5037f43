package redisconf

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"counter/internal/redisinfo"
	"counter/provisioning/pki"
)

// redisServer is Debian's binary; the real tests skip without it.
const redisServer = "/usr/bin/redis-server"

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
	exited   chan struct{}
}

type cluster struct {
	ca                  *pki.CA
	counterdCert        tls.Certificate // what counterd presents
	counterdPassword    string
	replicationPassword string
}

func requireRedisServer(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(redisServer); err != nil {
		t.Skipf("SKIPPING real Redis test: %s missing (apt-get install redis-server): %v", redisServer, err)
	}
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	ca, _, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "pki"), "counter", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{ca: ca, counterdPassword: "counterd-" + randomHex(t), replicationPassword: "replication-" + randomHex(t)}
	c.counterdCert = issuePair(t, ca, "counterd", "127.0.0.1")
	return c
}

// start renders role's configuration, installs the files it names and
// starts redis-server; it is stopped by pid when the test ends.
func (c *cluster) start(t testing.TB, role Role, name, addr string, master *node) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{name: name, addr: addr, port: freePort(t), dir: dir, exited: make(chan struct{})}
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

	cmd := exec.Command(redisServer, n.confPath)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a crashed test
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", redisServer, err)
	}
	pid := cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-n.exited
		}
		if t.Failed() {
			n.dumpLog(t)
		}
	})
	n.waitReady(t, c)
	return n
}

func (n *node) dumpLog(t testing.TB) {
	for _, f := range []string{n.paths.LogFile, filepath.Join(n.dir, "stdout")} {
		if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
			t.Logf("%s %s:\n%s", n.name, filepath.Base(f), b)
		}
	}
}

// waitReady polls PING as counterd over TLS until it answers, the server
// exits, or a deadline passes.
func (n *node) waitReady(t testing.TB, c *cluster) {
	t.Helper()
	client := c.counterd(t, n, "127.0.0.1")
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-n.exited:
			n.dumpLog(t)
			t.Fatalf("%s: redis-server exited before answering: %v", n.name, err)
		default:
		}
		if time.Now().After(deadline) {
			n.dumpLog(t)
			t.Fatalf("%s: no PONG within 15s: %v", n.name, err)
		}
		<-tick.C
	}
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

// waitFor polls cond until it returns nil or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := cond(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		<-tick.C
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func issuePair(t testing.TB, ca *pki.CA, name string, sans ...string) tls.Certificate {
	t.Helper()
	c, k, err := ca.Issue(name, sans, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
