package daemon

import (
	"strings"
	"testing"
	"time"
)

// The answers of point 2 and 7 of issue 13 on both HTTP stacks, over the fake
// store (outcome_test.go runs them against Redis).
func TestPressWithLostAnswerRoutes(t *testing.T) {
	for name, stack := range stacks {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			do := stack(t, f)
			inc := req{method: "POST", path: "/inc", cookie: "tok1"}

			f.store.loseAnswers = true
			w := do(inc)
			if w.Code != 503 || w.Header().Get("Retry-After") != "3" || !strings.Contains(w.Body.String(), "not known yet whether your press counted") {
				t.Fatalf("press with a lost answer = %d %q (Retry-After %q), want 503, Retry-After 3, outcome unknown",
					w.Code, w.Body.String(), w.Header().Get("Retry-After"))
			}
			f.store.loseAnswers = false

			f.clock.add(time.Minute)
			w = do(inc)
			wantAt := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)
			if w.Code != 200 || w.Body.String() != "43\n" || w.Header().Get(earlierPressHeader) != wantAt {
				t.Fatalf("retry = %d %q (%s %q), want 200 \"43\" marked as the press at %s",
					w.Code, w.Body.String(), earlierPressHeader, w.Header().Get(earlierPressHeader), wantAt)
			}
			if w = do(inc); w.Code != 429 || w.Header().Get(earlierPressHeader) != "" {
				t.Fatalf("press after the reported retry = %d %q, want 429 without %s", w.Code, w.Body.String(), earlierPressHeader)
			}
		})
	}
}

func TestMasterDownAnswersRoutes(t *testing.T) {
	tests := []struct {
		name     string
		req      req
		wantCode int
		wantBody string
	}{
		{"register", req{method: "POST", path: "/register", form: creds("carol", "carol-password")}, 503, "cannot register right now"},
		{"login", req{method: "POST", path: "/", form: creds("alice", "alice-password")}, 503, "cannot log in right now"},
		{"inc", req{method: "POST", path: "/inc", cookie: "tok1"}, 503, "your press was not counted"},
		{"logout", req{method: "POST", path: "/logout", cookie: "tok1"}, 200, "the server ends the session as soon as it does"},
	}
	for _, tt := range tests {
		for name, stack := range stacks {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				f := newFixture(t, nil)
				f.store.masterDown = true
				w := stack(t, f)(tt.req)
				if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantBody) {
					t.Fatalf("%s %s with the master down = %d %q, want %d containing %q",
						tt.req.method, tt.req.path, w.Code, w.Body.String(), tt.wantCode, tt.wantBody)
				}
				if tt.name == "logout" && (!cleared(w.Header(), sessionCookie) || !cleared(w.Header(), displayCookie)) {
					t.Errorf("logout with the master down left cookies: Set-Cookie %q", w.Header().Values("Set-Cookie"))
				}
				if strings.Contains(w.Body.String(), "counter cannot be changed") && tt.name != "inc" {
					t.Errorf("%s says the counter cannot be changed: %q", tt.name, w.Body.String())
				}
			})
		}
	}
}
