package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// BenchmarkIncrementSession: one press each by b.N distinct users, through
// the Lua script on a loopback master (so: script cost plus two round trips,
// the press and its confirmation).
func BenchmarkIncrementSession(b *testing.B) {
	srv := redistest.Start(b)
	s := openStore(b, srv, nil, nil)
	c := srv.Client()
	ctx := context.Background()

	// Users and sessions are written directly: Register would time argon2.
	tokens := make([]string, b.N)
	p := c.Pipeline()
	for i := range tokens {
		login := "bench" + strconv.Itoa(i)
		tokens[i] = "token-" + login
		p.HSet(ctx, s.UserKey(login), "hash", "x")
		p.Set(ctx, s.SessionKey(tokens[i]), login, time.Hour)
		if p.Len() >= 2000 || i == len(tokens)-1 {
			if _, err := p.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}

	b.ResetTimer()
	for i := range b.N {
		if _, err := s.IncrementSession(ctx, tokens[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got, _ := c.Get(ctx, s.ValueKey()).Int(); got != b.N {
		b.Fatalf("counter = %d after %d presses", got, b.N)
	}
}

// BenchmarkValue: the read path, which every page view takes.
func BenchmarkValue(b *testing.B) {
	srv := redistest.Start(b)
	s := openStore(b, srv, nil, nil)
	testutil.Eventually(b, 5*time.Second, "first read", s.Ready)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, c := s.Value(); c.IsZero() {
				b.Error("Value() not confirmed")
				return
			}
		}
	})
}

// BenchmarkAuthenticate: argon2id with the default (OWASP) parameters.
func BenchmarkAuthenticate(b *testing.B) {
	srv := redistest.Start(b)
	s := openStore(b, srv, nil, func(o *store.Options) { o.Hash = store.DefaultHashParams })
	ctx := context.Background()
	if err := s.Register(ctx, "bench", "bench-password"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Authenticate(ctx, "bench", "bench-password"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIncrementWaitCheck compares, in one run on one loopback cluster
// (master, mirror, continental replica, three sentinels), a press through a
// fixed master with a press that also waits for the replica the sentinels
// would promote first (--sentinels). Each iteration presses once each way.
func BenchmarkIncrementWaitCheck(b *testing.B) {
	c := redistest.StartCluster(b, redistest.ClusterConfig{Priorities: []int{10, 100}})
	fixed := openStore(b, c.Replicas[1], c.Master, nil)
	waiting := openStore(b, c.Replicas[1], nil, func(o *store.Options) {
		o.Sentinels, o.MasterName = c.SentinelAddrs(), c.Name
	})
	testutil.Eventually(b, 20*time.Second, "promotion order known", func() bool { return len(waiting.PromotionFirst()) == 1 })
	ctx := context.Background()
	cl := c.Master.Client()
	p := cl.Pipeline()
	for i := range 2 * b.N {
		login := "bench" + strconv.Itoa(i)
		p.HSet(ctx, fixed.UserKey(login), "hash", "x")
		p.Set(ctx, fixed.SessionKey("token-"+login), login, time.Hour)
		if p.Len() >= 2000 || i == 2*b.N-1 {
			if _, err := p.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	var tFixed, tWait time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := fixed.IncrementSession(ctx, "token-bench"+strconv.Itoa(2*i)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := waiting.IncrementSession(ctx, "token-bench"+strconv.Itoa(2*i+1)); err != nil {
			b.Fatal(err)
		}
		tFixed, tWait = tFixed+t1.Sub(t0), tWait+time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(tFixed.Nanoseconds())/float64(b.N), "ns/press-fixed")
	b.ReportMetric(float64(tWait.Nanoseconds())/float64(b.N), "ns/press-wait")
	b.ReportMetric(float64(tWait)/float64(tFixed), "wait/fixed")
}
