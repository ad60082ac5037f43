package daemon

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRoutes(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		setup      func(*fakeStore)
		req        req
		wantCode   int
		wantBody   string // substring
		wantHeader map[string]string
		wantCookie bool // a session cookie is set
	}{
		{name: "page", req: req{method: "GET", path: "/"}, wantCode: 200, wantBody: `<div id="counter">42</div>`,
			wantHeader: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "page head", req: req{method: "HEAD", path: "/"}, wantCode: 200},
		{name: "getvalue", req: req{method: "GET", path: "/getvalue"}, wantCode: 200, wantBody: "42\n",
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "3"}},
		{name: "unknown path", req: req{method: "GET", path: "/nope"}, wantCode: 404},
		{name: "wrong method", req: req{method: "POST", path: "/getvalue"}, wantCode: 405},
		{name: "healthz", req: req{method: "GET", path: "/healthz"}, wantCode: 200, wantBody: "ok"},

		{name: "register", req: req{method: "POST", path: "/register", form: creds("carol", "carol-password")},
			wantCode: 201, wantCookie: true},
		{name: "register taken", req: req{method: "POST", path: "/register", form: creds("alice", "whatever-pass")},
			wantCode: 409, wantBody: "taken"},
		{name: "register short login", req: req{method: "POST", path: "/register", form: creds("ab", "carol-password")},
			wantCode: 400, wantBody: "login must be 3 to 64 characters"},
		{name: "register long login", req: req{method: "POST", path: "/register", form: creds(strings.Repeat("a", 65), "carol-password")},
			wantCode: 400, wantBody: "login must be 3 to 64 characters"},
		{name: "register bad login", req: req{method: "POST", path: "/register", form: creds("car ol", "carol-password")},
			wantCode: 400, wantBody: "login may only hold"},
		{name: "register short password", req: req{method: "POST", path: "/register", form: creds("carol", "short")},
			wantCode: 400, wantBody: "password must be at least 8 bytes"},
		{name: "register long password", req: req{method: "POST", path: "/register", form: creds("carol", strings.Repeat("p", 1025))},
			wantCode: 400, wantBody: "password must be at most 1024 bytes"},
		{name: "register no fields", req: req{method: "POST", path: "/register", form: url.Values{}},
			wantCode: 400, wantBody: "login and password are required"},
		{name: "register malformed form", req: req{method: "POST", path: "/register", body: "login=%zz"},
			wantCode: 400, wantBody: "malformed form"},
		{name: "register master down", setup: func(s *fakeStore) { s.masterDown = true },
			req: req{method: "POST", path: "/register", form: creds("carol", "carol-password")}, wantCode: 503, wantBody: "master"},
		{name: "register per-request sets no cookie", mode: AuthPerRequest,
			req: req{method: "POST", path: "/register", form: creds("carol", "carol-password")}, wantCode: 201},

		{name: "login", req: req{method: "POST", path: "/", form: creds("alice", "alice-password")}, wantCode: 200, wantCookie: true},
		{name: "login wrong password", req: req{method: "POST", path: "/", form: creds("alice", "wrong-password")},
			wantCode: 401, wantBody: msgBadCredentials},
		{name: "login unknown user", req: req{method: "POST", path: "/", form: creds("nobody", "wrong-password")},
			wantCode: 401, wantBody: msgBadCredentials},
		{name: "login impossible user", req: req{method: "POST", path: "/", form: creds("n", "x")},
			wantCode: 401, wantBody: msgBadCredentials},
		{name: "login plain form post", req: req{method: "POST", path: "/", form: creds("alice", "alice-password"),
			header: map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin"}},
			wantCode: 303, wantCookie: true, wantHeader: map[string]string{"Location": "/"}},
		{name: "login plain form post fails with a page", req: req{method: "POST", path: "/", form: creds("alice", "wrong-password"),
			header: map[string]string{"Sec-Fetch-Mode": "navigate"}},
			wantCode: 401, wantBody: `<a href="/">`, wantHeader: map[string]string{"Content-Type": "text/html; charset=utf-8"}},

		{name: "inc", req: req{method: "POST", path: "/inc", cookie: "tok1"}, wantCode: 200, wantBody: "43\n"},
		{name: "inc no cookie", req: req{method: "POST", path: "/inc"}, wantCode: 401, wantBody: msgNoSession},
		{name: "inc unknown session", req: req{method: "POST", path: "/inc", cookie: "tok99"}, wantCode: 401},
		{name: "inc garbage cookie", req: req{method: "POST", path: "/inc", cookie: "a\"b"}, wantCode: 401},
		{name: "inc too soon", req: req{method: "POST", path: "/inc", cookie: "tok2"}, wantCode: 429,
			wantBody: "once every 24 hours", wantHeader: map[string]string{"Retry-After": "84600"}},
		{name: "inc master down", setup: func(s *fakeStore) { s.masterDown = true },
			req: req{method: "POST", path: "/inc", cookie: "tok1"}, wantCode: 503, wantBody: "master",
			wantHeader: map[string]string{"Retry-After": ""}},
		{name: "inc master without replicas", setup: func(s *fakeStore) {
			s.pressErr = fmt.Errorf("increment: %w: %w: NOREPLICAS Not enough good replicas to write.", errMasterUnavailable, errMasterMoving)
		}, req: req{method: "POST", path: "/inc", cookie: "tok1"}, wantCode: 503, wantBody: "not counted",
			wantHeader: map[string]string{"Retry-After": "2"}},
		{name: "inc master demoted", setup: func(s *fakeStore) {
			s.pressErr = fmt.Errorf("increment: %w: %w: READONLY You can't write against a read only replica.", errMasterUnavailable, errMasterMoving)
		}, req: req{method: "POST", path: "/inc", cookie: "tok1"}, wantCode: 503, wantBody: "not counted",
			wantHeader: map[string]string{"Retry-After": "2"}},
		{name: "inc per-request form", mode: AuthPerRequest,
			req: req{method: "POST", path: "/inc", form: creds("alice", "alice-password")}, wantCode: 200, wantBody: "43\n"},
		{name: "inc per-request basic", mode: AuthPerRequest,
			req: req{method: "POST", path: "/inc", basic: [2]string{"alice", "alice-password"}}, wantCode: 200, wantBody: "43\n"},
		{name: "inc per-request wrong", mode: AuthPerRequest,
			req: req{method: "POST", path: "/inc", basic: [2]string{"alice", "nope-nope-nope"}}, wantCode: 401,
			wantBody: msgBadCredentials, wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="counter", charset="UTF-8"`}},
		{name: "inc per-request wrong form asks no Basic dialog", mode: AuthPerRequest,
			req: req{method: "POST", path: "/inc", form: creds("alice", "nope-nope-nope")}, wantCode: 401,
			wantHeader: map[string]string{"WWW-Authenticate": ""}},
		{name: "inc per-request ignores session", mode: AuthPerRequest,
			req: req{method: "POST", path: "/inc", cookie: "tok1"}, wantCode: 401},

		{name: "logout", req: req{method: "POST", path: "/logout", cookie: "tok1"}, wantCode: 200},
		{name: "logout without session", req: req{method: "POST", path: "/logout"}, wantCode: 200},

		{name: "body too large", req: req{method: "POST", path: "/register", body: "login=" + strings.Repeat("a", maxBody)},
			wantCode: 413},
		{name: "body too large without length", req: req{method: "POST", path: "/register", chunked: true,
			body: "login=" + strings.Repeat("a", maxBody)}, wantCode: 413},
		{name: "body too large per-request inc", mode: AuthPerRequest, req: req{method: "POST", path: "/inc", chunked: true,
			body: "login=" + strings.Repeat("a", maxBody)}, wantCode: 413},
		{name: "cross-site post", req: req{method: "POST", path: "/inc", cookie: "tok1",
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, wantCode: 403},
		{name: "cross-origin post", req: req{method: "POST", path: "/inc", cookie: "tok1",
			header: map[string]string{"Origin": "https://evil.example"}}, wantCode: 403},
		{name: "same-origin post", req: req{method: "POST", path: "/inc", cookie: "tok1",
			header: map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}}, wantCode: 200},

		{name: "readyz", req: req{method: "GET", path: "/readyz"}, wantCode: 200},
		{name: "readyz redis down", setup: func(s *fakeStore) { s.pingErr = errors.New("dial tcp: refused") },
			req: req{method: "GET", path: "/readyz"}, wantCode: 503, wantBody: "local redis does not answer"},
		{name: "readyz stale", setup: func(s *fakeStore) { s.confirmed = s.confirmed.Add(-3 * time.Second) },
			req: req{method: "GET", path: "/readyz"}, wantCode: 503, wantBody: "more than --max-staleness 2s"},
	}
	for _, tt := range tests {
		for name, stack := range stacks {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				f := newFixture(t, func(c *Config) {
					if tt.mode != "" {
						c.AuthMode = tt.mode
					}
				})
				if tt.setup != nil {
					tt.setup(f.store)
				}
				w := stack(t, f)(tt.req)
				if w.Code != tt.wantCode {
					t.Fatalf("%s %s = %d %q, want %d", tt.req.method, tt.req.path, w.Code, w.Body.String(), tt.wantCode)
				}
				if !strings.Contains(w.Body.String(), tt.wantBody) {
					t.Errorf("body = %q, want it to contain %q", w.Body.String(), tt.wantBody)
				}
				for k, v := range tt.wantHeader {
					if got := w.Header().Get(k); got != v {
						t.Errorf("header %s = %q, want %q", k, got, v)
					}
				}
				for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
					if w.Header().Get(h) == "" {
						t.Errorf("header %s missing", h)
					}
				}
				if got := sessionSet(w); got != tt.wantCookie {
					t.Errorf("session cookie set = %v, want %v (Set-Cookie %q)", got, tt.wantCookie, w.Header().Values("Set-Cookie"))
				}
			})
		}
	}
}
