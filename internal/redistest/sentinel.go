package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/testutil"
)

// Sentinel is a real Redis Sentinel (redis-server --sentinel) on loopback,
// stopped when the test ends.
type Sentinel struct {
	*Process
	port int
}

// StartSentinel starts a Sentinel that monitors master under name with
// quorum, down-after-milliseconds 1000 (the loopback anchor). It skips tb
// when redis-server is missing.
func StartSentinel(tb testing.TB, master *Server, name string, quorum int) *Sentinel {
	tb.Helper()
	bin := lookBinary(tb)
	dir := tb.TempDir()
	port := testutil.FreePort(tb)
	logFile := filepath.Join(dir, "sentinel.log")
	// Sentinel rewrites its file (known replicas, epochs): it must be its own.
	conf := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor %s 127.0.0.1 %d %d
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 5000
`, port, dir, logFile, name, master.port, quorum, name, name)
	path := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	s := &Sentinel{port: port}
	ready := func(ctx context.Context) error {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
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
