package daemon

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is a Server over a fake store with a user "alice" (session "tok1") who
// has not pressed yet and a user "bob" who pressed 30 minutes ago.
type fixture struct {
	srv   *Server
	store *fakeStore
	clock *clock
}

func newFixture(t testing.TB, edit func(*Config)) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	st := newFakeStore(clk.now)
	st.value = 42
	st.users["alice"] = "alice-password"
	st.users["bob"] = "bob-password"
	st.sessions["tok1"] = "alice"
	st.sessions["tok2"] = "bob"
	st.tokens = 2
	st.last["bob"] = clk.t.Add(-30*time.Minute - 500*time.Millisecond)
	cfg := DefaultConfig()
	cfg.Master = cfg.Redis
	if edit != nil {
		edit(&cfg)
	}
	hub := NewHub()
	st.onChange = hub.Publish
	return &fixture{srv: NewServer(cfg, Deps{Store: st, Hub: hub, Now: clk.now}), store: st, clock: clk}
}

type req struct {
	method, path string
	form         url.Values
	body         string
	header       map[string]string
	cookie       string // session token
	basic        [2]string
	chunked      bool // no Content-Length: the body cap must still hold
}

func (f *fixture) do(t *testing.T, q req) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, q.request(t, ""))
	return w
}

// request builds q: for the handler itself when base is "", else for a
// counterd listening at base.
func (q req) request(t *testing.T, base string) *http.Request {
	t.Helper()
	body := q.body
	if q.form != nil {
		body = q.form.Encode()
	}
	var r *http.Request
	if base == "" {
		r = httptest.NewRequest(q.method, q.path, strings.NewReader(body))
		r.RemoteAddr = "192.0.2.1:1234"
	} else {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		var err error
		if r, err = http.NewRequestWithContext(t.Context(), q.method, base+q.path, rd); err != nil {
			t.Fatal(err)
		}
		r.Host = "example.com" // as httptest.NewRequest's, for the same-origin checks
	}
	if q.chunked {
		r.ContentLength = -1
	}
	if q.method == http.MethodPost {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: q.cookie})
	}
	if q.basic[0] != "" {
		r.SetBasicAuth(q.basic[0], q.basic[1])
	}
	return r
}

// stacks are the two ways a request reaches a Server: net/http's handler (as
// under TLS, and the reference) and the fasthttp listener of plain HTTP, over TCP.
// Tests of routes run on both.
var stacks = map[string]func(*testing.T, *fixture) func(req) *httptest.ResponseRecorder{
	"net-http": func(t *testing.T, f *fixture) func(req) *httptest.ResponseRecorder {
		return func(q req) *httptest.ResponseRecorder { return f.do(t, q) }
	},
	"fasthttp": func(t *testing.T, f *fixture) func(req) *httptest.ResponseRecorder {
		base, _ := startDaemon(t, f, f.srv.cfg)
		return func(q req) *httptest.ResponseRecorder { return doOver(t, base, q) }
	},
}

// doOver sends q to a listening counterd at base and records the answer as do does.
func doOver(t *testing.T, base string, q req) *httptest.ResponseRecorder {
	t.Helper()
	r := q.request(t, base)
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", q.method, q.path, err)
	}
	defer resp.Body.Close()
	w := httptest.NewRecorder()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w.Body, resp.Body); err != nil {
		t.Fatalf("%s %s: read body: %v", q.method, q.path, err)
	}
	return w
}

func creds(login, password string) url.Values {
	return url.Values{"login": {login}, "password": {password}}
}

// sessionSet reports a non-empty session cookie, checking its attributes.
func sessionSet(w *httptest.ResponseRecorder) bool {
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return c.HttpOnly && c.SameSite == http.SameSiteStrictMode && c.Path == "/" && c.MaxAge > 0
		}
	}
	return false
}
