package redisconf

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"counter/internal/redistest"
)

// BenchmarkLocalGET measures what TLS on loopback costs the local counterd
// (no plain port exists): a pooled GET over TLS with the rendered
// configuration, against a plain-text redis-server for comparison.
//
//	go test -run '^$' -bench LocalGET ./provisioning/redisconf/
func BenchmarkLocalGET(b *testing.B) {
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
// as the benchmark's baseline.
func startPlain(b *testing.B) string { return redistest.Start(b).Addr() }
