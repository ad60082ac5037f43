package daemon

import (
	"strconv"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	type step struct {
		after   time.Duration // advance the clock first
		key     string
		wantOK  bool
		maxWait time.Duration // when refused: 0 < Retry-After <= maxWait
	}
	tests := []struct {
		name  string
		limit int
		keys  int
		steps []step
	}{
		{name: "limit per key", limit: 2, keys: 10, steps: []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, time.Minute}, {0, "b", true, 0},
		}},
		{name: "a window later the old attempts weigh less", limit: 2, keys: 10, steps: []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, time.Minute},
			{90 * time.Second, "a", true, 0},
		}},
		{name: "two windows later all is forgotten", limit: 1, keys: 10, steps: []step{
			{0, "a", true, 0}, {0, "a", false, time.Minute}, {2 * time.Minute, "a", true, 0},
		}},
		{name: "full table forgets the least recently used key", limit: 1, keys: 2, steps: []step{
			{0, "a", true, 0}, {0, "b", true, 0}, {0, "a", false, time.Minute},
			{0, "c", true, 0}, // b is forgotten, a (just tried) is kept
			{0, "a", false, time.Minute}, {0, "b", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)}
			th := newThrottle(tt.limit, time.Minute, tt.keys, clk.now)
			for i, s := range tt.steps {
				clk.add(s.after)
				ok, wait := th.allow(s.key)
				if ok != s.wantOK {
					t.Fatalf("step %d: allow(%q) = %v, want %v", i, s.key, ok, s.wantOK)
				}
				if !ok && (wait <= 0 || wait > s.maxWait) {
					t.Errorf("step %d: retry after %v, want in (0, %v]", i, wait, s.maxWait)
				}
			}
		})
	}
}

func TestLoginAttemptsThrottled(t *testing.T) {
	f := newFixture(t, nil)
	for i := range attemptsPerLogin {
		w := f.do(t, req{method: "POST", path: "/", form: creds("alice", "wrong-password-"+strconv.Itoa(i))})
		if w.Code != 401 {
			t.Fatalf("attempt %d = %d, want 401", i, w.Code)
		}
	}
	w := f.do(t, req{method: "POST", path: "/", form: creds("alice", "alice-password")})
	if w.Code != 429 {
		t.Fatalf("attempt past the limit = %d %q, want 429", w.Code, w.Body)
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s <= 0 || s > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", w.Header().Get("Retry-After"))
	}
	// Another login is not affected.
	r := f.do(t, req{method: "POST", path: "/", form: creds("bob", "bob-password")})
	if r.Code != 200 {
		t.Errorf("other login = %d, want 200", r.Code)
	}
	f.clock.add(2 * attemptWindow)
	if w := f.do(t, req{method: "POST", path: "/", form: creds("alice", "alice-password")}); w.Code != 200 {
		t.Errorf("after the window = %d, want 200", w.Code)
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ name, remote, want string }{
		{"ipv4", "192.0.2.7:5555", "192.0.2.7"},
		{"ipv4-mapped", "[::ffff:192.0.2.7]:5555", "192.0.2.7"},
		{"ipv6 counts per /64", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443", "2001:db8:1:2::/64"},
		{"same /64", "[2001:db8:1:2::1]:1", "2001:db8:1:2::/64"},
		{"no port", "192.0.2.8", "192.0.2.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientKey(tt.remote); got != tt.want {
				t.Errorf("clientKey(%q) = %q, want %q", tt.remote, got, tt.want)
			}
		})
	}
}
