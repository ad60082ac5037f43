package daemon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzFormCredentials: any body gets a 4xx or a valid login and password, never a panic.
func FuzzFormCredentials(f *testing.F) {
	for _, seed := range []string{
		"login=alice&password=alice-password",
		"login=al&password=x",
		"login=%zz",
		"login=a%00b&password=12345678",
		"login=" + strings.Repeat("a", 64) + "&password=" + strings.Repeat("p", 1024),
		"password=only-a-password",
		"login=alice&login=mallory&password=alice-password",
		"login=%C3%A9l%C3%A8ve&password=%FF%FE%FD%FC%FB%FA%F9%F8",
		";;;&&&===",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, read := range []func(*http.Request) (credentials, error){newCredentials, loginCredentials, requestCredentials} {
			r := httptest.NewRequest("POST", "/register", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			c, err := read(r)
			if err != nil {
				if code, msg, _ := statusOf(err); code < 400 || code >= 500 || msg == "" {
					t.Fatalf("body %q: error %v maps to %d %q, want a 4xx with a message", body, err, code, msg)
				}
				continue
			}
			if validLogin(c.login) != nil || validPassword(c.password) != nil {
				t.Fatalf("body %q accepted invalid credentials %q/%q", body, c.login, c.password)
			}
		}
	})
}

// FuzzCookieSession: any session cookie value is refused cleanly or used as an opaque
// token of the documented alphabet; the handler answers 401 for an unknown
// session, 200 for alice's first press ("tok1") and 429 for her next ones,
// never 5xx.
func FuzzCookieSession(f *testing.F) {
	for _, seed := range []string{"tok1", "", "YpUtdInt90uqSjbJJYn_5PJlmchKsvxyuKC1HQa64c4", "a\"b", "a;b=c",
		strings.Repeat("x", 200), "../../etc", "\x00\xff"} {
		f.Add(seed)
	}
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, token string) {
		if validToken(token) && strings.ContainsFunc(token, func(r rune) bool {
			return !(r == '-' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		}) {
			t.Fatalf("validToken(%q) = true for a token outside [A-Za-z0-9_-]", token)
		}
		r := httptest.NewRequest("POST", "/inc", nil)
		r.Header.Set("Cookie", sessionCookie+"="+token)
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, r)
		switch w.Code {
		case 200, 401, 429:
		default:
			t.Fatalf("cookie %q: status %d %q", token, w.Code, w.Body)
		}
	})
}
