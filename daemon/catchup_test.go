package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

// TestCatchingUpReplicaServesNoValue: counterd started on a replica that has
// not synced since its Redis started (its master does not answer) has no
// value to give: the page and /getvalue answer 503 "catching up" with
// Retry-After, /readyz is unready; once the replica syncs, the master's
// value is served.
func TestCatchingUpReplicaServesNoValue(t *testing.T) {
	master := redistest.Start(t)
	master.Do("SET", "counter:value", 42)
	master.Pause()
	t.Cleanup(master.Resume)
	_, port, err := net.SplitHostPort(master.Addr())
	if err != nil {
		t.Fatal(err)
	}
	replica := redistest.Start(t, redistest.WithArgs("--replicaof", "127.0.0.1", port, "--replica-read-only", "no"))
	replica.Do("SET", "counter:value", 7) // as if reloaded from an old snapshot
	base := counterd(t, replica, master)
	u := newUser(t, base)
	first := firstEvent(t, base)

	// counterd reads the replica at once; give it a few polls to (wrongly) take 7.
	testutil.Poll(t, 10*time.Second, "counterd answers", func(context.Context) error {
		_, err := http.Get(base + "/healthz")
		return err
	})
	for _, path := range []string{"/getvalue", "/"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s = %d Retry-After %q, want 503 with Retry-After", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if code, body := u.get("/getvalue"); code != http.StatusServiceUnavailable || body == "7" {
		t.Errorf("GET /getvalue = %d %q, want 503 catching up", code, body)
	}
	if code, body, err := readyz(base); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d %q %v, want 503", code, body, err)
	}

	select {
	case v := <-first:
		t.Errorf("/events started with %q while catching up, want the stream held", v)
	default:
	}

	master.Resume()
	select {
	case v := <-first:
		if v != "42" {
			t.Errorf("/events first value %q, want the master's 42", v)
		}
	case <-time.After(20 * time.Second):
		t.Error("/events sent no value within 20 s of the master answering again")
	}
	testutil.Poll(t, 20*time.Second, "counterd serves the master's value after the sync", func(context.Context) error {
		if code, body := u.get("/getvalue"); code != 200 || body != "42" {
			return fmt.Errorf("GET /getvalue = %d %q, want 200 42", code, body)
		}
		return nil
	})
}

// firstEvent opens /events and delivers the data of its first value event
// (or the error) on the channel; the stream is closed when the test ends.
func firstEvent(t *testing.T, base string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan string, 1)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		named := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				out <- "error: " + err.Error()
				return
			}
			switch v, isData := strings.CutPrefix(line, "data: "); {
			case strings.HasPrefix(line, "event: "):
				named = true
			case line == "\n":
				named = false
			case isData && !named:
				out <- strings.TrimSpace(v)
				return
			}
		}
	}()
	return out
}

// TestFirstVisitorAfterStartGetsThePage: counterd on a Redis that answers
// has its value before it serves, so a visitor arriving the moment it starts
// gets the page, not "catching up" (a browser test in CI got that page).
func TestFirstVisitorAfterStartGetsThePage(t *testing.T) {
	rd := redistest.Start(t)
	rd.Do("SET", "counter:value", 42)
	for i := range 5 {
		base := counterd(t, rd, rd)
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("start %d: first GET / = %d, want 200", i+1, resp.StatusCode)
		}
	}
}
