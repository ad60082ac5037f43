package daemon

import (
	"net/url"
	"testing"

	"counter/internal/redistest"
)

// displayName is the login the page shows, from the display cookie.
func (u *user) displayName() string {
	base, err := url.Parse(u.base)
	if err != nil {
		u.t.Fatal(err)
	}
	for _, c := range u.c.Jar.Cookies(base) {
		if c.Name == displayCookie {
			return c.Value
		}
	}
	return ""
}

// Logins are unique without regard to case; the spelling registered is shown.
func TestLoginsIgnoreCase(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range []string{AuthCookie, AuthPerRequest} {
		t.Run(mode, func(t *testing.T) {
			srv.Do("FLUSHALL")
			base := counterd(t, srv, srv, func(c *Config) { c.AuthMode = mode })
			alice := newUser(t, base)
			if code, body := alice.post("/register", creds("alice", "alice-password")); code != 201 {
				t.Fatalf("register alice = %d %q, want 201", code, body)
			}
			other := newUser(t, base)
			if code, body := other.post("/register", creds("Alice", "other-password")); code != 409 {
				t.Fatalf("register Alice after alice = %d %q, want 409", code, body)
			}
			if mode == AuthPerRequest {
				form := creds("ALICE", "alice-password")
				if code, body := other.post("/inc", form); code != 200 || body != "1" {
					t.Fatalf("inc as ALICE with alice's password = %d %q, want 200 \"1\"", code, body)
				}
				if code, body := other.pressAgain(creds("aLiCe", "alice-password")); code != 429 {
					t.Fatalf("second inc as aLiCe = %d %q, want 429 (one user)", code, body)
				}
				return
			}
			if code, body := other.post("/", creds("ALICE", "other-password")); code != 401 {
				t.Fatalf("login ALICE with the refused registration's password = %d %q, want 401", code, body)
			}
			if code, body := other.post("/", creds("ALICE", "alice-password")); code != 200 {
				t.Fatalf("login ALICE with alice's password = %d %q, want 200", code, body)
			}
			if got := other.displayName(); got != "alice" {
				t.Errorf("display name after login as ALICE = %q, want alice (as registered)", got)
			}
			if code, body := other.post("/inc", nil); code != 200 || body != "1" {
				t.Fatalf("inc = %d %q, want 200 \"1\"", code, body)
			}
			if code, body := alice.pressAgain(nil); code != 429 {
				t.Fatalf("inc from alice's own session = %d %q, want 429 (same user)", code, body)
			}
		})
	}
}
