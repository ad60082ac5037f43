package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// doFrom sends q to the counterd at base over TCP from the loopback address ip,
// so the listener sees a distinct client address per ip.
func doFrom(t *testing.T, base, ip string, q req) *httptest.ResponseRecorder {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	client := &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(q.request(t, base))
	if err != nil {
		t.Fatalf("%s %s from %s: %v", q.method, q.path, ip, err)
	}
	defer resp.Body.Close()
	w := httptest.NewRecorder()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Body.ReadFrom(resp.Body)
	return w
}

// pauses records the delays the per-login throttle asks for, instead of waiting.
type pauses struct{ got []time.Duration }

func (p *pauses) pause(_ context.Context, d time.Duration) error {
	p.got = append(p.got, d)
	return nil
}

// Strangers guessing alice's password from many addresses must not lock her out.
func TestStrangersDoNotLockOwnerOut(t *testing.T) {
	for _, mode := range []string{AuthCookie, AuthPerRequest} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.AuthMode = mode })
			p := &pauses{}
			f.srv.pause = p.pause
			base, _ := startDaemon(t, f, f.srv.cfg)
			for i := range 3 * attemptsPerLogin {
				ip := "127.0.0." + strconv.Itoa(10+i)
				w := doFrom(t, base, ip, req{method: "POST", path: "/", form: creds("alice", "wrong-password-"+ip)})
				if w.Code != 401 {
					t.Fatalf("stranger %d (%s) = %d %q, want 401", i, ip, w.Code, w.Body)
				}
			}
			own := req{method: "POST", path: "/", form: creds("alice", "alice-password")}
			want := 200
			if mode == AuthPerRequest {
				own = req{method: "POST", path: "/inc", basic: [2]string{"alice", "alice-password"}}
			}
			if w := doFrom(t, base, "127.0.0.2", own); w.Code != want {
				t.Fatalf("alice's own %s after strangers' guesses = %d %q, want %d", own.path, w.Code, w.Body, want)
			}
			// The login is slowed instead: bounded delays, growing with the guesses.
			if len(p.got) == 0 {
				t.Fatal("no delay asked for a login under attack")
			}
			for _, d := range p.got {
				if d <= 0 || d > maxLoginDelay {
					t.Errorf("delay %v, want in (0, %v]", d, maxLoginDelay)
				}
			}
		})
	}
}

// One address guessing one login is refused; the owner elsewhere is not.
func TestOneAddressGuessingGets429(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.pause = (&pauses{}).pause
	base, _ := startDaemon(t, f, f.srv.cfg)
	guess := func(i int) *httptest.ResponseRecorder {
		return doFrom(t, base, "127.0.0.3", req{method: "POST", path: "/", form: creds("alice", "wrong-"+strconv.Itoa(i)+"-password")})
	}
	for i := range attemptsPerPair {
		if w := guess(i); w.Code != 401 {
			t.Fatalf("guess %d = %d, want 401", i, w.Code)
		}
	}
	w := guess(attemptsPerPair)
	if w.Code != 429 {
		t.Fatalf("guess past the limit = %d %q, want 429", w.Code, w.Body)
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s <= 0 || s > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", w.Header().Get("Retry-After"))
	}
	if w := doFrom(t, base, "127.0.0.2", req{method: "POST", path: "/", form: creds("alice", "alice-password")}); w.Code != 200 {
		t.Fatalf("alice from her own address = %d %q, want 200", w.Code, w.Body)
	}
	// Spraying many logins from one address hits the per-address limit.
	code := 0
	for i := 0; i <= attemptsPerAddr && code != 429; i++ {
		code = doFrom(t, base, "127.0.0.4", req{method: "POST", path: "/", form: creds(fmt.Sprintf("user%03d", i), "some-password")}).Code
	}
	if code != 429 {
		t.Errorf("%d logins from one address: last = %d, want 429", attemptsPerAddr+1, code)
	}
}

// A throttle table filled by a spray of keys must not refuse a new client.
func TestFullThrottleTableRefusesNoNewLogin(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.pause = (&pauses{}).pause
	for i := range maxThrottledKeys + 1 {
		// Text addresses in 198.18.0.0/15 (benchmarking): no packet is sent.
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = fmt.Sprintf("198.18.%d.%d:1234", i/256%256, i%256)
		if i >= 1<<16 {
			r.RemoteAddr = fmt.Sprintf("198.19.%d.%d:1234", i/256%256, i%256)
		}
		r.PostForm = creds(fmt.Sprintf("spray%06d", i), "some-password")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, r)
		if w.Code != 401 {
			t.Fatalf("spray %d from %s = %d %q, want 401", i, r.RemoteAddr, w.Code, w.Body)
		}
	}
	for _, th := range []*throttle{f.srv.byAddr, f.srv.byLogin, f.srv.byPair} {
		if n := th.len(); n > maxThrottledKeys {
			t.Errorf("throttle holds %d keys, want at most %d", n, maxThrottledKeys)
		}
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "192.0.2.200:5555"
	r.PostForm = creds("alice", "alice-password")
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("new login from a new address with a full table = %d %q, want 200", w.Code, w.Body)
	}
}

func TestLoginDelay(t *testing.T) {
	tests := []struct {
		before int
		want   time.Duration
	}{
		{0, 0}, {attemptsPerLogin - 1, 0},
		{attemptsPerLogin, loginDelayStep}, {attemptsPerLogin + 1, 2 * loginDelayStep},
		{attemptsPerLogin + 1000, maxLoginDelay},
	}
	for _, tt := range tests {
		if got := loginDelay(tt.before); got != tt.want {
			t.Errorf("loginDelay(%d) = %v, want %v", tt.before, got, tt.want)
		}
	}
}
