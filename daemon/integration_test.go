package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

// counterd starts a full counterd (real store) on 127.0.0.1:0 reading from local
// and writing to master; it drains when the test ends.
func counterd(t *testing.T, local, master *redistest.Server, edit ...func(*Config)) string {
	t.Helper()
	cfg := DefaultConfig()
	for _, e := range edit {
		e(&cfg)
	}
	cfg.Listen = "127.0.0.1:0"
	cfg.Redis, cfg.Master = local.URL(), master.URL()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := r.Wait(); err != nil {
			t.Errorf("counterd drain: %v", err)
		}
	})
	return strings.TrimSuffix("http://"+r.Addr().String(), "/")
}

// user is a browser-like client with its own cookie jar.
type user struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newUser(t *testing.T, base string) *user {
	jar, _ := cookiejar.New(nil)
	return &user{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (u *user) post(path string, form url.Values) (int, string) {
	u.t.Helper()
	r := u.send(path, form)
	return r.code, r.body
}

func (u *user) get(path string) (int, string) {
	u.t.Helper()
	resp, err := u.c.Get(u.base + path)
	if err != nil {
		u.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestIntegrationReplicaAndMaster(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.Start(t)
	replica.ReplicaOf(master)
	onMaster := counterd(t, master, master)
	onReplica := counterd(t, replica, master)

	// A page open on the replica's counterd.
	resp, err := http.Get(onReplica + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	if got := readEvent(t, events); got != "0" {
		t.Fatalf("first event = %q, want 0", got)
	}

	alice := newUser(t, onReplica)
	if code, body := alice.post("/register", creds("alice", "alice-password")); code != 201 {
		t.Fatalf("register through the replica's counterd = %d %q, want 201", code, body)
	}
	if code, body := alice.post("/register", creds("alice", "other-password")); code != 409 {
		t.Fatalf("second register = %d %q, want 409", code, body)
	}
	if code, body := alice.post("/logout", nil); code != 200 {
		t.Fatalf("logout = %d %q", code, body)
	}
	if code, _ := alice.post("/inc", nil); code != 401 {
		t.Fatalf("inc after logout = %d, want 401", code)
	}
	if code, body := alice.post("/", creds("alice", "wrong-password")); code != 401 {
		t.Fatalf("login with a wrong password = %d %q, want 401", code, body)
	}
	if code, body := alice.post("/", creds("alice", "alice-password")); code != 200 {
		t.Fatalf("login = %d %q, want 200", code, body)
	}
	if code, body := alice.post("/inc", nil); code != 200 || body != "1" {
		t.Fatalf("inc = %d %q, want 200 \"1\"", code, body)
	}
	if got := readEvent(t, events); got != "1" {
		t.Fatalf("event after alice's inc = %q, want 1", got)
	}
	if code, _ := alice.pressAgain(nil); code != 429 {
		t.Fatalf("second inc = %d, want 429", code)
	}

	// An increment through the master's counterd reaches the page on the replica's.
	bob := newUser(t, onMaster)
	if code, body := bob.post("/register", creds("bob", "bob-password")); code != 201 {
		t.Fatalf("register bob = %d %q", code, body)
	}
	if code, body := bob.post("/inc", nil); code != 200 || body != "2" {
		t.Fatalf("bob inc = %d %q, want 200 \"2\"", code, body)
	}
	if got := readEvent(t, events); got != "2" {
		t.Fatalf("event on the replica's counterd = %q, want 2", got)
	}
	testutil.Poll(t, 10*time.Second, "replica's /getvalue shows 2", func(context.Context) error {
		if _, body := alice.get("/getvalue"); body != "2" {
			return fmt.Errorf("last: %s", body)
		}
		return nil
	})
	if _, page := alice.get("/"); !strings.Contains(page, `<div id="counter">2</div>`) {
		t.Errorf("page on the replica's counterd lacks the value 2")
	}
}

func TestIntegrationMasterDown(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.Start(t)
	replica.ReplicaOf(master)
	base := counterd(t, replica, master)
	alice := newUser(t, base)
	if code, body := alice.post("/register", creds("alice", "alice-password")); code != 201 {
		t.Fatalf("register = %d %q", code, body)
	}
	master.Kill()

	code, body := alice.post("/inc", nil)
	if code != 503 || !strings.Contains(body, "master") {
		t.Fatalf("inc with the master down = %d %q, want 503 naming the master", code, body)
	}
	for _, path := range []string{"/", "/getvalue"} {
		if code, _ := alice.get(path); code != 200 {
			t.Errorf("GET %s with the master down = %d, want 200", path, code)
		}
	}
}

func TestIntegrationReadyzFollowsLocalRedis(t *testing.T) {
	local := redistest.Start(t)
	base := counterd(t, local, local)
	probe := newUser(t, base)
	ready := func(want int) func(context.Context) error {
		return func(context.Context) error {
			if code, body := probe.get("/readyz"); code != want {
				return fmt.Errorf("last: %d %s", code, body)
			}
			return nil
		}
	}
	testutil.Poll(t, 10*time.Second, "ready with redis up", ready(200))
	local.Stop()
	testutil.Poll(t, 10*time.Second, "unready with redis down", ready(503))
	if code, _ := probe.get("/"); code != 200 {
		t.Errorf("GET / with redis down = %d, want 200", code)
	}
	local.Restart()
	testutil.Poll(t, 10*time.Second, "ready again after redis is back", ready(200))
}

func TestIntegrationPerRequestAuth(t *testing.T) {
	r := redistest.Start(t)
	base := counterd(t, r, r, func(c *Config) { c.AuthMode = AuthPerRequest })
	u := newUser(t, base)
	if code, body := u.post("/register", creds("dave", "dave-password")); code != 201 {
		t.Fatalf("register = %d %q, want 201", code, body)
	}
	if n := len(u.c.Jar.Cookies(mustURL(t, base))); n != 0 {
		t.Fatalf("per-request mode set %d cookies, want none", n)
	}
	inc := func(login, password string) int {
		rq, _ := http.NewRequest("POST", base+"/inc", nil)
		rq.SetBasicAuth(login, password)
		resp, err := u.c.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := inc("dave", "wrong-password"); code != 401 {
		t.Errorf("inc with a wrong password = %d, want 401", code)
	}
	if code := inc("dave", "dave-password"); code != 200 {
		t.Errorf("inc with Basic credentials = %d, want 200", code)
	}
	if code, _ := u.pressAgain(creds("dave", "dave-password")); code != 429 {
		t.Errorf("second inc with form credentials = %d, want 429", code)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRunLogsURLServesAndStops(t *testing.T) {
	r := redistest.Start(t, redistest.WithPassword("redis-secret-pw"))
	ctx, cancel := context.WithCancel(t.Context())
	var logs testutil.Buffer
	done := make(chan error, 1)
	env := map[string]string{"COUNTERD_REDIS_PASSWORD": "redis-secret-pw", "COUNTERD_LOG_FORMAT": "json"}
	go func() {
		done <- Run(ctx, []string{"--listen", "127.0.0.1:0", "--redis", "redis://" + r.Addr() + "/0"},
			envOf(env), io.Discard, &logs)
	}()
	var base string
	testutil.Poll(t, 10*time.Second, "Run logs the URL", func(context.Context) error {
		_, rest, ok := strings.Cut(logs.String(), `"url":"http://`)
		if !ok {
			return fmt.Errorf("last: %s", logs.String())
		}
		base = "http://" + rest[:strings.IndexByte(rest, '"')]
		return nil
	})
	u := newUser(t, strings.TrimSuffix(base, "/"))
	testutil.Poll(t, 10*time.Second, "ready", func(context.Context) error {
		if code, body := u.get("/readyz"); code != 200 {
			return fmt.Errorf("last: %d %s", code, body)
		}
		return nil
	})
	if code, body := u.post("/register", creds("erin", "erin-password")); code != 201 {
		t.Fatalf("register = %d %q", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	for _, secret := range []string{"redis-secret-pw", "erin-password"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs leak %q:\n%s", secret, logs.String())
		}
	}
}

// The cluster's Redis demands a client certificate (tls-auth-clients yes), as this one does.
func TestIntegrationRedisOverTLS(t *testing.T) {
	r := redistest.Start(t, redistest.WithClientCerts())
	base := counterd(t, r, r, func(c *Config) {
		c.RedisCAFile, c.RedisCertFile, c.RedisKeyFile = r.CAFile(), r.CertFile(), r.KeyFile()
	})
	u := newUser(t, base)
	testutil.Poll(t, 10*time.Second, "ready over rediss://", func(context.Context) error {
		if code, body := u.get("/readyz"); code != 200 {
			return fmt.Errorf("last: %d %s", code, body)
		}
		return nil
	})
	if code, body := u.post("/register", creds("frank", "frank-password")); code != 201 {
		t.Fatalf("register over rediss:// = %d %q", code, body)
	}
	if code, body := u.post("/inc", nil); code != 200 || body != "1" {
		t.Fatalf("inc over rediss:// = %d %q, want 200 \"1\"", code, body)
	}
}
