package store_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redistest"
)

// TestConcurrentIncrementsCountOnce: 50 simultaneous presses by one user.
func TestConcurrentIncrementsCountOnce(t *testing.T) {
	master, replica := startPair(t)
	s := openStore(t, replica, master, func(o *store.Options) { o.PoolSize = 20 })
	master.Do("SET", s.ValueKey(), 1000)
	if err := s.Register(bg, "erin", "erin-password"); err != nil {
		t.Fatal(err)
	}
	tok, err := s.NewSession(bg, "erin")
	if err != nil {
		t.Fatal(err)
	}

	const n = 50
	var (
		wg                      sync.WaitGroup
		mu                      sync.Mutex
		fresh, earlier, soon, o int
		got                     []store.Press
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			p, err := s.IncrementSession(bg, tok)
			var tooSoon *store.TooSoonError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && !p.Earlier:
				fresh++
				got = append(got, p)
			case err == nil:
				// A press that ran before the one that counted had its answer
				// confirmed: it is told about that press, which is true.
				earlier++
				got = append(got, p)
			case errors.As(err, &tooSoon):
				soon++
			default:
				o++
				t.Errorf("IncrementSession: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("%d concurrent presses: %d counted, %d told about that press, %d too soon", n, fresh, earlier, soon)
	if fresh != 1 || earlier+soon != n-1 || o != 0 {
		t.Fatalf("%d concurrent presses: %d counted, %d earlier, %d too soon, %d other; want 1 counted, the rest earlier or too soon",
			n, fresh, earlier, soon, o)
	}
	for _, p := range got {
		if p.Value != 1001 || !p.At.Equal(got[0].At) {
			t.Fatalf("presses answered %+v and %+v, want all the one press: value 1001 at one time", got[0], p)
		}
	}
	if v := master.Do("GET", s.ValueKey()); v != "1001" {
		t.Fatalf("counter on master = %v, want 1001", v)
	}
	waitValue(t, s, 1001)
}

// TestWindowBoundary writes the last-press time around 24 h ago, measured
// on the master's clock like the script does.
func TestWindowBoundary(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, srv, nil, nil)
	srv.Do("SET", s.ValueKey(), 0)
	tests := []struct {
		name    string
		ago     time.Duration // how long ago the last press was
		allowed bool
	}{
		{"2s before the window ends", 24*time.Hour - 2*time.Second, false},
		{"1s after the window ended", 24*time.Hour + time.Second, true},
		{"just pressed", time.Second, false},
		{"a week ago", 7 * 24 * time.Hour, true},
		{"in the future (clock stepped back)", -time.Hour, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			login := "user" + strconv.Itoa(i)
			if err := s.Register(bg, login, "password"); err != nil {
				t.Fatal(err)
			}
			tok, err := s.NewSession(bg, login)
			if err != nil {
				t.Fatal(err)
			}
			now := redisTime(t, srv)
			srv.Do("HSET", s.UserKey(login), store.FieldLastIncrement, now.Add(-tt.ago).UnixMicro())

			before := srv.Do("GET", s.ValueKey())
			_, err = s.IncrementSession(bg, tok)
			after := srv.Do("GET", s.ValueKey())
			if tt.allowed {
				if err != nil {
					t.Fatalf("IncrementSession = %v, want allowed", err)
				}
				if before == after {
					t.Fatalf("counter stayed %v, want it incremented", after)
				}
				return
			}
			var soon *store.TooSoonError
			if !errors.As(err, &soon) {
				t.Fatalf("IncrementSession = %v, want TooSoonError", err)
			}
			want := min(24*time.Hour-tt.ago, 24*time.Hour)
			if d := soon.RetryAfter - want; d > 0 || d < -time.Second {
				t.Fatalf("RetryAfter = %s, want %s (at most 1s less)", soon.RetryAfter, want)
			}
			if before != after {
				t.Fatalf("counter went %v -> %v on a refused press", before, after)
			}
		})
	}
}

func redisTime(t *testing.T, srv *redistest.Server) time.Time {
	t.Helper()
	r := srv.Do("TIME").([]any)
	sec, _ := strconv.ParseInt(r[0].(string), 10, 64)
	usec, _ := strconv.ParseInt(r[1].(string), 10, 64)
	return time.Unix(sec, usec*1000)
}
