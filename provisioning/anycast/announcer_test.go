package anycast

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// readyz is a /readyz the test flips: 200, 503, or no answer at all.
type readyz struct {
	status atomic.Int32 // 0: close the connection without answering
	hits   atomic.Int64
	srv    *httptest.Server
}

func newReadyz(t *testing.T, status int) *readyz {
	t.Helper()
	r := &readyz{}
	r.status.Store(int32(status))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		code := int(r.status.Load())
		if code == 0 {
			panic(http.ErrAbortHandler) // counterd stopped: no HTTP answer
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *readyz) URL() string { return r.srv.URL + "/readyz" }

// fakeRouter records what the announcer told it.
type fakeRouter struct {
	mu    sync.Mutex
	calls []bool
}

var _ Router = (*fakeRouter)(nil)

func (f *fakeRouter) Announce(_ context.Context, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, on)
	return nil
}

// last is the last call, and whether there was any.
func (f *fakeRouter) last() (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return false, false
	}
	return f.calls[len(f.calls)-1], true
}

func TestAnnouncerStepsOverRealHTTP(t *testing.T) {
	type round struct {
		local, peer int // status each answers this round (0: no answer)
		want        string
	}
	const (
		none = "none" // the router is not told
		on   = "on"
		off  = "off"
	)
	tests := []struct {
		name   string
		rounds []round
	}{
		{"announces after rise, withdraws after fall", []round{
			{200, 200, none}, {200, 200, on}, {503, 200, on}, {503, 200, off}, {200, 200, off}, {200, 200, on},
		}},
		{"guard: every node degraded keeps the announcement", []round{
			{200, 200, none}, {200, 200, on}, {503, 503, on}, {503, 503, on}, {503, 503, on},
			// a peer recovers: this node, still degraded, steps back
			{503, 200, off},
			// the peer fails again: this node is the last one answering
			{503, 503, on},
		}},
		{"guard: a peer that does not answer is not ready", []round{
			{200, 0, none}, {200, 0, on}, {503, 0, on}, {503, 0, on},
		}},
		{"down withdraws even when no peer is ready", []round{
			{200, 503, none}, {200, 503, on}, {0, 503, on}, {0, 503, off},
		}},
		{"a start that never rises or falls leaves the router alone", []round{
			{200, 200, none}, {503, 200, none}, {200, 200, none},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local, peer := newReadyz(t, 200), newReadyz(t, 200)
			router := &fakeRouter{}
			a, err := New(Config{
				ReadyzURL: local.URL(), PeerURLs: []string{peer.URL()},
				Counts: Counts{Rise: 2, Fall: 2}, MinPeersReady: 1,
				Interval: time.Second, Timeout: 2 * time.Second, Router: router,
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range tt.rounds {
				local.status.Store(int32(r.local))
				peer.status.Store(int32(r.peer))
				if err := a.Step(t.Context()); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				got := none
				if v, ok := router.last(); ok {
					got = map[bool]string{true: on, false: off}[v]
				}
				if got != r.want {
					t.Fatalf("round %d (local %d, peer %d): router %s, want %s", i, r.local, r.peer, got, r.want)
				}
			}
		})
	}
}

func TestAnnouncerAsksPeersOnlyWhenItMatters(t *testing.T) {
	local, peer := newReadyz(t, 200), newReadyz(t, 200)
	a, err := New(Config{
		ReadyzURL: local.URL(), PeerURLs: []string{peer.URL()},
		Counts: Counts{Rise: 1, Fall: 1}, MinPeersReady: 1,
		Interval: time.Second, Timeout: 2 * time.Second, Router: &fakeRouter{},
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := a.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := peer.hits.Load(); n != 0 {
		t.Errorf("a healthy node asked its peer %d times, want 0", n)
	}
	local.status.Store(503)
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := peer.hits.Load(); n != 1 {
		t.Errorf("an unhealthy node asked its peer %d times, want 1", n)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{ReadyzURL: "http://127.0.0.1/readyz", Counts: Counts{1, 1}, Interval: time.Second, Timeout: time.Second, Router: &fakeRouter{}}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	bad := map[string]func(c *Config){
		"no url":       func(c *Config) { c.ReadyzURL = "" },
		"rise 0":       func(c *Config) { c.Counts.Rise = 0 },
		"no interval":  func(c *Config) { c.Interval = 0 },
		"no router":    func(c *Config) { c.Router = nil },
		"negative min": func(c *Config) { c.MinPeersReady = -1 },
	}
	for name, mutate := range bad {
		c := good
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New = nil error, want one", name)
		}
	}
}
