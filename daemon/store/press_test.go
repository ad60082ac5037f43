package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// pressReady registers login with a session, after one press by someone else
// has loaded the increment script: a frozen master then runs the EVALSHA it
// holds when it wakes, rather than answering NOSCRIPT.
func pressReady(t *testing.T, s *env, login string) (token string) {
	t.Helper()
	for _, l := range []string{"loader-" + login, login} {
		if err := s.Register(bg, l, l+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.IncrementLogin(bg, "loader-"+login); err != nil {
		t.Fatal(err)
	}
	tok, err := s.NewSession(bg, login)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestUnknownPressReportedOnRetry: a press the frozen master runs after
// counterd gave up is unknown, then reported by the retry (Earlier), once;
// the counter moved once.
func TestUnknownPressReportedOnRetry(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, srv, nil, func(o *store.Options) { o.Timeout = 200 * time.Millisecond })
	tok := pressReady(t, s, "olga")

	srv.Pause()
	_, err := s.IncrementSession(bg, tok)
	srv.Resume()
	if !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("IncrementSession with the master frozen = %v, want ErrOutcomeUnknown", err)
	}
	testutil.Eventually(t, 5*time.Second, "the frozen press ran", func() bool {
		return srv.Client().Get(bg, s.ValueKey()).Val() == "2"
	})
	last, _ := srv.Client().HGet(bg, s.UserKey("olga"), store.FieldLastIncrement).Int64()
	if u, want := srv.Client().HGet(bg, s.UserKey("olga"), store.FieldUnconfirmed).Val(), fmt.Sprintf("%d:2", last); u != want {
		t.Fatalf("%s = %q after the lost press, want %q", store.FieldUnconfirmed, u, want)
	}

	p, err := s.IncrementSession(bg, tok)
	if err != nil || !p.Earlier || p.Value != 2 {
		t.Fatalf("retry = %+v, %v; want the earlier press, value 2", p, err)
	}
	if !p.At.Equal(time.UnixMicro(last)) {
		t.Errorf("retry's Press.At = %v, want the press's own time %v", p.At, time.UnixMicro(last))
	}
	if v := srv.Do("GET", s.ValueKey()); v != "2" {
		t.Fatalf("counter after the retry = %v, want 2", v)
	}
	s.WaitConfirms()
	if n := srv.Client().HExists(bg, s.UserKey("olga"), store.FieldUnconfirmed).Val(); n {
		t.Errorf("%s still set after the retry's answer was delivered", store.FieldUnconfirmed)
	}
	var soon *store.TooSoonError
	if _, err := s.IncrementSession(bg, tok); !errors.As(err, &soon) {
		t.Fatalf("press after the reported retry = %v, want TooSoonError", err)
	}
}

// TestUnknownPressThatNeverRanCounts: never a false success. A press lost
// with a master that died before running it is not reported as counted: the
// retry counts it now.
func TestUnknownPressThatNeverRanCounts(t *testing.T) {
	srv := redistest.Start(t, redistest.WithPersistence())
	s := openStore(t, srv, nil, func(o *store.Options) { o.Timeout = 200 * time.Millisecond })
	tok := pressReady(t, s, "pavel")

	srv.Pause()
	_, err := s.IncrementSession(bg, tok)
	if !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("IncrementSession with the master frozen = %v, want ErrOutcomeUnknown", err)
	}
	srv.Kill() // before it ran the script
	srv.Restart()
	var p store.Press
	testutil.Eventually(t, 10*time.Second, "a press after the restart", func() bool {
		p, err = s.IncrementSession(bg, tok)
		return !errors.Is(err, store.ErrMasterUnavailable)
	})
	if err != nil || p.Earlier || p.Value != 2 {
		t.Fatalf("retry after the lost press = %+v, %v; want a new press, value 2, not Earlier", p, err)
	}
}

// TestUnconfirmedMarkOfAnotherPress: a mark is reported only for the press it
// names: one older than the window, or left by an older press while the last
// one was confirmed (or pressed by a counterd without marks), is not.
func TestUnconfirmedMarkOfAnotherPress(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, srv, nil, nil)
	srv.Do("SET", s.ValueKey(), 40)
	now := redisTime(t, srv)
	tests := []struct {
		name    string
		last    time.Time // the last press
		markAt  time.Time // the press the mark names
		counted bool      // the new press counts (else TooSoonError)
	}{
		{"last press and its mark 25h ago", now.Add(-25 * time.Hour), now.Add(-25 * time.Hour), true},
		{"last press 1h ago, mark of one 30h ago", now.Add(-time.Hour), now.Add(-30 * time.Hour), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			login := fmt.Sprintf("quinn%d", i)
			if err := s.Register(bg, login, "quinn-password"); err != nil {
				t.Fatal(err)
			}
			srv.Do("HSET", s.UserKey(login), store.FieldLastIncrement, tt.last.UnixMicro(),
				store.FieldUnconfirmed, fmt.Sprintf("%d:17", tt.markAt.UnixMicro()))
			before := srv.Do("GET", s.ValueKey())
			p, err := s.IncrementLogin(bg, login)
			var soon *store.TooSoonError
			switch {
			case tt.counted && (err != nil || p.Earlier || p.Value == 17):
				t.Fatalf("press = %+v, %v; want a new press", p, err)
			case !tt.counted && !errors.As(err, &soon):
				t.Fatalf("press = %+v, %v; want TooSoonError, not the press the mark names", p, err)
			case !tt.counted && srv.Do("GET", s.ValueKey()) != before:
				t.Fatalf("counter moved on a refused press")
			}
		})
	}
}

// TestPressOutlastsADemotion: a master that becomes a replica refuses the
// press (READONLY: it did not run); the store tries again within the
// press's deadline and counts it once the node takes writes again, as a
// planned switchover's new master does. Before, the press was answered
// "not counted" at once (chaos scenario 6, 2026-12-02 14:25).
func TestPressOutlastsADemotion(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, srv, nil, func(o *store.Options) { o.Timeout = 3 * time.Second })
	tok := pressReady(t, s, "dora")

	// A replica of a port nobody listens on: read-only, and it keeps its
	// data, as it never syncs.
	srv.Do("REPLICAOF", "127.0.0.1", testutil.FreePort(t))
	if err := srv.Client().Set(bg, "probe", "1", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Fatalf("SET on the demoted node = %v, want READONLY", err)
	}
	promoted := make(chan struct{})
	go func() {
		defer close(promoted)
		time.Sleep(500 * time.Millisecond) // the demotion the press must outlast
		srv.Do("REPLICAOF", "NO", "ONE")
	}()
	p, err := s.IncrementSession(bg, tok)
	<-promoted
	if err != nil || p.Value != 2 || p.Earlier {
		t.Fatalf("press during the demotion = %+v, %v; want counted once, value 2", p, err)
	}
	if v := srv.Client().Get(bg, s.ValueKey()).Val(); v != "2" {
		t.Fatalf("counter = %s, want 2", v)
	}
}
