package redisconf

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkLocalGET measures what TLS on loopback costs the local counterd
// (no plain port exists): a pooled GET over TLS with the rendered
// configuration, against a plain-text redis-server for comparison.
//
//	go test -run '^$' -bench LocalGET ./provisioning/redisconf/
func BenchmarkLocalGET(b *testing.B) {
	requireRedisServer(b)
	c := newCluster(b)
	master := c.start(b, RoleMaster, "master", "127.0.0.2", nil)
	ctx := context.Background()

	tlsClient := c.counterd(b, master, "127.0.0.1")
	plainClient := redis.NewClient(&redis.Options{Addr: startPlain(b), DisableIdentity: true})
	b.Cleanup(func() { _ = plainClient.Close() })

	for _, bc := range []struct {
		name string
		cl   *redis.Client
	}{{"tls", tlsClient}, {"plain", plainClient}} {
		if err := bc.cl.Set(ctx, "counter:value", "42", 0).Err(); err != nil {
			b.Fatalf("%s: SET: %v", bc.name, err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.cl.Get(ctx, "counter:value").Err(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// startPlain starts a throwaway plain-text redis-server on loopback, only
// as the benchmark's baseline; it is stopped by pid.
func startPlain(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	port := freePort(b)
	cmd := exec.Command(redisServer, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitFor(b, "plain redis-server", 10*time.Second, func(ctx context.Context) error {
		cl := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, MaxRetries: -1})
		defer cl.Close()
		return cl.Ping(ctx).Err()
	})
	return addr
}
