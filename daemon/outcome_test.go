package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// Issue 13, point 2: a press whose answer from the master comes later than
// --redis-timeout must not be reported as failed, and the retry of that press
// must get the press's own success, not a 24-hour refusal.
func TestIncOutcomeUnknownThenReplayed(t *testing.T) {
	for _, mode := range []string{AuthCookie, AuthPerRequest} {
		t.Run(mode, func(t *testing.T) {
			master := redistest.Start(t)
			replica := redistest.Start(t)
			replica.ReplicaOf(master)
			base := counterd(t, replica, master, func(c *Config) {
				c.AuthMode = mode
				c.RedisTimeout = 200 * time.Millisecond
			})
			u := newUser(t, base)
			if code, body := u.post("/register", creds("alice", "alice-password")); code != 201 {
				t.Fatalf("register = %d %q, want 201", code, body)
			}
			// Reads (the password check, per request) come from the replica, so
			// only the press waits for the master.
			userKey := "counter:user:alice"
			testutil.Eventually(t, 10*time.Second, "alice on the replica", func() bool {
				return replica.Do("EXISTS", userKey) == int64(1)
			})
			pressAs := func(u *user, login string) *reply {
				if mode == AuthPerRequest {
					return u.send("/inc", creds(login, login+"-password"))
				}
				return u.send("/inc", nil)
			}
			press := func() *reply { return pressAs(u, "alice") }

			// Bob's press loads the script on the master, so alice's frozen
			// EVALSHA runs when the master wakes instead of answering NOSCRIPT.
			bob := newUser(t, base)
			if code, body := bob.post("/register", creds("bob", "bob-password")); code != 201 {
				t.Fatalf("register bob = %d %q, want 201", code, body)
			}
			bobPress := pressAs(bob, "bob")
			if bobPress.code != 200 || bobPress.body != "1" {
				t.Fatalf("bob's press = %d %q, want 200 \"1\"", bobPress.code, bobPress.body)
			}
			// Its confirmation lands after the answer: wait for it, so the
			// frozen press goes out on that idle connection rather than on a
			// new one whose login the frozen master never answers.
			testutil.Eventually(t, 10*time.Second, "bob's press confirmed", func() bool {
				return master.Do("HEXISTS", "counter:user:bob", store.FieldUnconfirmed) == int64(0)
			})

			// The master freezes: the script reaches its socket, counterd's
			// timeout passes, then the master wakes and runs it.
			master.Pause()
			first := press()
			master.Resume()
			if first.code == 200 {
				t.Fatalf("press with the master frozen = 200 %q: a success nobody confirmed", first.body)
			}
			if first.code != 503 || first.header.Get("Retry-After") == "" {
				t.Fatalf("press with the master frozen = %d %q (Retry-After %q), want 503 with Retry-After",
					first.code, first.body, first.header.Get("Retry-After"))
			}
			for _, lie := range []string{"not counted", "cannot be changed"} {
				if strings.Contains(first.body, lie) {
					t.Errorf("press with an unknown outcome says %q: %q", lie, first.body)
				}
			}
			if !strings.Contains(first.body, "press again") {
				t.Errorf("press with an unknown outcome = %q, want it to say to press again", first.body)
			}

			testutil.Poll(t, 10*time.Second, "the frozen press counted once the master woke", func(context.Context) error {
				v, _ := master.Client().Get(t.Context(), "counter:value").Result()
				if v != "2" {
					return fmt.Errorf("last: %s", v)
				}
				return nil
			})

			retry := press()
			if retry.code != 200 || retry.body != "2" {
				t.Fatalf("retry of the press = %d %q, want 200 \"2\" (the original success)", retry.code, retry.body)
			}
			if at := retry.header.Get(earlierPressHeader); at == "" {
				t.Errorf("retry answered without %s: it must say the press is the earlier one", earlierPressHeader)
			} else if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
				t.Errorf("%s = %q: %v", earlierPressHeader, at, err)
			}
			if v := master.Do("GET", "counter:value"); v != "2" {
				t.Fatalf("counter after the retry = %v, want 2: the retry must not count again", v)
			}

			// Its answer delivered, the press is confirmed (just after the
			// answer): from then on, 429 as before.
			testutil.Eventually(t, 10*time.Second, "alice's press confirmed", func() bool {
				return master.Do("HEXISTS", userKey, store.FieldUnconfirmed) == int64(0)
			})
			again := press()
			if again.code != 429 {
				t.Fatalf("press after the reported retry = %d %q, want 429", again.code, again.body)
			}
			if v := master.Do("GET", "counter:value"); v != "2" {
				t.Fatalf("counter after all presses = %v, want 2", v)
			}
		})
	}
}

// Issue 13, point 7: logout during a master outage clears the cookies at once
// and ends the session when the master is back; login and register say what
// cannot be done.
func TestLogoutDuringMasterOutage(t *testing.T) {
	master := redistest.Start(t, redistest.WithPersistence())
	replica := redistest.Start(t)
	replica.ReplicaOf(master)
	base := counterd(t, replica, master)
	alice := newUser(t, base)
	if code, body := alice.post("/register", creds("alice", "alice-password")); code != 201 {
		t.Fatalf("register = %d %q, want 201", code, body)
	}
	var token string
	for _, c := range alice.c.Jar.Cookies(mustURL(t, base)) {
		if c.Name == sessionCookie {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("register set no session cookie")
	}
	sessionKey := "counter:session:" + store.TokenHash(token)
	testutil.Eventually(t, 10*time.Second, "alice and her session on the replica", func() bool {
		return replica.Do("EXISTS", sessionKey, "counter:user:alice") == int64(2)
	})

	master.Kill()

	other := newUser(t, base)
	if code, body := other.post("/register", creds("bob", "bob-password")); code != 503 || !strings.Contains(body, "cannot register right now") {
		t.Errorf("register with the master down = %d %q, want 503 saying registering is not possible now", code, body)
	}
	if code, body := other.post("/", creds("alice", "alice-password")); code != 503 || !strings.Contains(body, "cannot log in right now") {
		t.Errorf("login with the master down = %d %q, want 503 saying logging in is not possible now", code, body)
	}

	out := alice.send("/logout", nil)
	if out.code != 200 {
		t.Fatalf("logout with the master down = %d %q, want 200", out.code, out.body)
	}
	if !cleared(out.header, sessionCookie) || !cleared(out.header, displayCookie) {
		t.Fatalf("logout with the master down did not clear both cookies: %q", out.header.Values("Set-Cookie"))
	}
	if !strings.Contains(out.body, "logged out") {
		t.Errorf("logout body = %q, want it to say logged out", out.body)
	}
	if n := len(alice.c.Jar.Cookies(mustURL(t, base))); n != 0 {
		t.Errorf("browser still holds %d cookies after logout", n)
	}

	// The master comes back with its data (AOF): the session it still holds
	// must be ended by counterd, not left valid until its TTL.
	master.Restart()
	mc := master.Client()
	testutil.Poll(t, 10*time.Second, "the logged-out session deleted on the master", func(context.Context) error {
		n, err := mc.Exists(t.Context(), sessionKey).Result()
		if err != nil {
			return err
		}
		if n != 0 {
			return errors.New("still there")
		}
		return nil
	})
	thief := newUser(t, base)
	thief.c.Jar.SetCookies(mustURL(t, base), []*http.Cookie{{Name: sessionCookie, Value: token, Path: "/"}})
	if code, body := thief.post("/inc", nil); code != 401 {
		t.Fatalf("press with the logged-out token after recovery = %d %q, want 401", code, body)
	}
}

// cleared reports whether h sets cookie name to empty with Max-Age=0 (expired).
func cleared(h http.Header, name string) bool {
	for _, line := range h.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=;") && strings.Contains(line, "Max-Age=0") {
			return true
		}
	}
	return false
}

// reply is an answer with its headers, for tests that look beyond code and body.
type reply struct {
	code   int
	body   string
	header http.Header
}

// pressAgain posts a second press of a user who has just pressed. Until
// the first press's confirmation lands (just after its answer) the second
// gets the first one's answer again, marked with Counter-Earlier-Press; it
// presses until that stops (10 s at most) and returns the answer.
func (u *user) pressAgain(form url.Values) (int, string) {
	u.t.Helper()
	var last *reply
	testutil.Poll(u.t, 10*time.Second, "the first press confirmed", func(context.Context) error {
		last = u.send("/inc", form)
		if last.code == 200 && last.header.Get(earlierPressHeader) != "" {
			return fmt.Errorf("answered with the first press again (%s)", last.body)
		}
		return nil
	})
	return last.code, last.body
}

// send posts form as u.post does and keeps the headers.
func (u *user) send(path string, form url.Values) *reply {
	u.t.Helper()
	resp, err := u.c.PostForm(u.base+path, form)
	if err != nil {
		u.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		u.t.Fatalf("POST %s: read body: %v", path, err)
	}
	return &reply{code: resp.StatusCode, body: strings.TrimSpace(string(b)), header: resp.Header}
}
