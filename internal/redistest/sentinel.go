package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/testutil"
)

// Sentinel is a real Redis Sentinel (redis-server --sentinel) on loopback,
// stopped when the test ends.
type Sentinel struct {
	*Process
	port      int
	password  string
	clientTLS *tls.Config
}

// StartSentinel starts a Sentinel that monitors master under name with
// quorum, down-after-milliseconds 1000 (the loopback anchor). It skips tb
// when redis-server is missing. A master started WithCA or WithPassword is
// monitored over TLS / with its password, and the Sentinel itself then
// serves TLS only and asks for the same password, as on the cluster.
func StartSentinel(tb testing.TB, master *Server, name string, quorum int) *Sentinel {
	tb.Helper()
	return startSentinel(tb, master, name, quorum, time.Second, "")
}

func startSentinel(tb testing.TB, master *Server, name string, quorum int, downAfter time.Duration, extra string) *Sentinel {
	tb.Helper()
	bin := lookBinary(tb)
	dir := tb.TempDir()
	port := testutil.FreePort(tb)
	logFile := filepath.Join(dir, "sentinel.log")
	// Sentinel rewrites its file (known replicas, epochs): it must be its own.
	var conf strings.Builder
	fmt.Fprintf(&conf, "bind 127.0.0.1\ndir %s\nlogfile %s\n", dir, logFile)
	s := &Sentinel{port: port, password: master.password}
	if master.tls != nil {
		t := master.tls
		fmt.Fprintf(&conf, "port 0\ntls-port %d\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\n"+
			"tls-auth-clients yes\ntls-replication yes\n", port, t.CertFile, t.KeyFile, t.CAFile)
		s.clientTLS = master.clientTLS
	} else {
		fmt.Fprintf(&conf, "port %d\n", port)
	}
	fmt.Fprintf(&conf, "sentinel monitor %s 127.0.0.1 %d %d\n", name, master.port, quorum)
	fmt.Fprintf(&conf, "sentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s 5000\n", name, downAfter.Milliseconds(), name)
	if master.password != "" {
		if master.user != "" {
			fmt.Fprintf(&conf, "sentinel auth-user %s %s\n", name, master.user)
		}
		// The same password guards the Sentinel and is what sentinels give each other.
		fmt.Fprintf(&conf, "sentinel auth-pass %s %s\nrequirepass %s\nsentinel sentinel-pass %s\n",
			name, master.password, master.password, master.password)
	}
	conf.WriteString(extra)
	path := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	ready := func(ctx context.Context) error {
		c := s.Client()
		defer c.Close()
		return c.Ping(ctx).Err()
	}
	p, err := launch(tb, bin, dir, logFile, ready, []string{path, "--sentinel"})
	if err != nil {
		tb.Fatalf("redistest: sentinel: %v", err)
	}
	s.Process = p
	return s
}

// Addr is host:port of the Sentinel.
func (s *Sentinel) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Client is a Sentinel client (TLS and password as the Sentinel wants);
// the caller closes it.
func (s *Sentinel) Client() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), Password: s.password, TLSConfig: s.clientTLS,
		MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, DisableIdentity: true})
}
