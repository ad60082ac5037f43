package store_test

import (
	"errors"
	"testing"
	"time"

	"counter/daemon/redistest"
	"counter/daemon/store"
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
	eventually(t, 5*time.Second, "the frozen press ran", func() bool {
		return srv.Client().Get(bg, s.ValueKey()).Val() == "2"
	})
	if u := srv.Client().HGet(bg, s.UserKey("olga"), store.FieldUnconfirmed).Val(); u != "2" {
		t.Fatalf("%s = %q after the lost press, want \"2\"", store.FieldUnconfirmed, u)
	}

	p, err := s.IncrementSession(bg, tok)
	if err != nil || !p.Earlier || p.Value != 2 {
		t.Fatalf("retry = %+v, %v; want the earlier press, value 2", p, err)
	}
	last, _ := srv.Client().HGet(bg, s.UserKey("olga"), store.FieldLastIncrement).Int64()
	if !p.At.Equal(time.UnixMicro(last)) {
		t.Errorf("retry's Press.At = %v, want the press's own time %v", p.At, time.UnixMicro(last))
	}
	if v := srv.Do("GET", s.ValueKey()); v != "2" {
		t.Fatalf("counter after the retry = %v, want 2", v)
	}
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
	eventually(t, 10*time.Second, "a press after the restart", func() bool {
		p, err = s.IncrementSession(bg, tok)
		return !errors.Is(err, store.ErrMasterUnavailable)
	})
	if err != nil || p.Earlier || p.Value != 2 {
		t.Fatalf("retry after the lost press = %+v, %v; want a new press, value 2, not Earlier", p, err)
	}
}

// TestUnconfirmedPressOutsideWindow: an unconfirmed mark older than the
// window is no reason to report the old press: the new one counts.
func TestUnconfirmedPressOutsideWindow(t *testing.T) {
	srv := redistest.Start(t)
	s := openStore(t, srv, nil, nil)
	srv.Do("SET", s.ValueKey(), 40)
	if err := s.Register(bg, "quinn", "quinn-password"); err != nil {
		t.Fatal(err)
	}
	old := redisTime(t, srv).Add(-25 * time.Hour).UnixMicro()
	srv.Do("HSET", s.UserKey("quinn"), store.FieldLastIncrement, old, store.FieldUnconfirmed, 17)
	p, err := s.IncrementLogin(bg, "quinn")
	if err != nil || p.Earlier || p.Value != 41 {
		t.Fatalf("press 25h after an unconfirmed one = %+v, %v; want a new press, value 41", p, err)
	}
}
