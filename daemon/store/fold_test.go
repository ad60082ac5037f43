package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"counter/daemon/store"
	"counter/internal/redistest"
)

func TestFoldLogin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"}, {"Alice", "alice"}, {"ALICE", "alice"}, {"a.B_c-9", "a.b_c-9"},
	}
	for _, tt := range tests {
		if got := store.FoldLogin(tt.in); got != tt.want {
			t.Errorf("FoldLogin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Register and Authenticate ignore case; the registered spelling is kept.
func TestLoginsCaseInsensitive(t *testing.T) {
	bg := context.Background()
	srv := redistest.Start(t)
	s := openStore(t, srv, nil, nil)
	if err := s.Register(bg, "Alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	for _, login := range []string{"alice", "ALICE", "aLIce"} {
		if err := s.Register(bg, login, "other-password"); !errors.Is(err, store.ErrExists) {
			t.Errorf("Register(%q) after Alice = %v, want ErrExists", login, err)
		}
		acct, err := s.CheckPassword(bg, login, "alice-password")
		if err != nil || acct != (store.Account{ID: "alice", Name: "Alice"}) {
			t.Errorf("CheckPassword(%q) = %+v, %v; want {alice Alice}", login, acct, err)
		}
	}
}

// Accounts made before logins were folded: a mixed-case key is moved to its
// folded key unless that is taken; a clashing one keeps its exact spelling.
func TestFoldLegacyLogins(t *testing.T) {
	bg := context.Background()
	srv := redistest.Start(t)
	s := openStore(t, srv, nil, nil)
	// What the old code wrote: keys by the spelling typed, no name field.
	for _, u := range []struct{ login, password string }{
		{"alice", "lower-password"}, {"Alice", "upper-password"}, {"Bob", "bob-password"},
	} {
		if err := s.Register(bg, "tmp", u.password); err != nil {
			t.Fatal(err)
		}
		srv.Do("RENAME", s.UserKey("tmp"), s.UserKey(u.login))
		srv.Do("HDEL", s.UserKey(u.login), "name")
	}
	bobSession := "legacy-session-token"
	srv.Do("SET", s.SessionKey(bobSession), "Bob")

	renamed, clashes, err := s.FoldLegacyLogins(bg)
	if err != nil || renamed != 1 || clashes != 1 {
		t.Fatalf("FoldLegacyLogins = %d renamed, %d clashes, %v; want 1, 1", renamed, clashes, err)
	}
	if n := srv.Do("EXISTS", s.UserKey("Bob"), s.UserKey("bob")).(int64); n != 1 {
		t.Fatalf("Bob and bob keys: %d exist, want 1 (moved)", n)
	}
	for _, tt := range []struct {
		login, password string
		want            store.Account
	}{
		{"Bob", "bob-password", store.Account{ID: "bob", Name: "Bob"}},
		{"BOB", "bob-password", store.Account{ID: "bob", Name: "Bob"}},
		{"alice", "lower-password", store.Account{ID: "alice", Name: "alice"}},
		{"ALICE", "lower-password", store.Account{ID: "alice", Name: "alice"}},
		// The clashing account is reached by its exact spelling only.
		{"Alice", "upper-password", store.Account{ID: "Alice", Name: "Alice"}},
	} {
		acct, err := s.CheckPassword(bg, tt.login, tt.password)
		if err != nil || acct != tt.want {
			t.Errorf("CheckPassword(%q) = %+v, %v; want %+v", tt.login, acct, err, tt.want)
		}
	}
	if _, err := s.CheckPassword(bg, "Alice", "lower-password"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("CheckPassword(Alice, alice's password) = %v, want ErrBadCredentials", err)
	}
	if err := s.Register(bg, "BOB", "x-password"); !errors.Is(err, store.ErrExists) {
		t.Errorf("Register(BOB) = %v, want ErrExists", err)
	}
	// A session made before the move still presses for Bob.
	if _, err := s.IncrementSession(bg, bobSession); err != nil {
		t.Fatalf("IncrementSession(Bob's old session) = %v", err)
	}
	if last := srv.Do("HGET", s.UserKey("bob"), store.FieldLastIncrement).(string); strings.TrimSpace(last) == "" {
		t.Error("press not recorded on bob")
	}
	// A second run finds nothing to do.
	if renamed, clashes, err := s.FoldLegacyLogins(bg); err != nil || renamed != 0 || clashes != 1 {
		t.Errorf("second FoldLegacyLogins = %d, %d, %v; want 0, 1", renamed, clashes, err)
	}
}
