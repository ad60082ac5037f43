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
