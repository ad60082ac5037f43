package load_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"counter/ctl/lab/load"
	"counter/daemon"
	"counter/internal/redistest"
)

// node starts a real counterd on ip:0 over redis and returns its base URL.
func node(t *testing.T, redis *redistest.Server, ip string) string {
	t.Helper()
	cfg := daemon.DefaultConfig()
	cfg.Listen = ip + ":0"
	cfg.Redis, cfg.Master = redis.URL(), redis.URL()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := daemon.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		r.Wait()
	})
	return "http://" + r.Addr().String()
}

// TestRunRegistersPressesAndReads: users register on one node and press on
// another with the same session, as behind one front-door name; each press
// is answered once with its own value; readers record values.
func TestRunRegistersPressesAndReads(t *testing.T) {
	redis := redistest.Start(t)
	// Two addresses: cookies are per host, whatever the port.
	a, b := node(t, redis, "127.0.0.1"), node(t, redis, "127.0.0.2")
	cfg := load.Config{Client: "eu", Nodes: map[string]string{"a": a, "b": b}, Prefix: "t", Password: "load-password-1",
		Users: 6, Register: []string{"a"}, Press: []string{"b", "a"}, Read: []string{"a", "b"},
		Duration: 600 * time.Millisecond, Settle: 5 * time.Second, ReadEvery: 50 * time.Millisecond, Timeout: 5 * time.Second}
	var ready, out bytes.Buffer
	if err := load.Run(t.Context(), cfg, strings.NewReader("go\n"), &ready, &out); err != nil {
		t.Fatal(err)
	}
	if ready.String() != "registered 6\n" {
		t.Errorf("ready line = %q, want %q", ready.String(), "registered 6\n")
	}
	recs, err := load.ReadRecords(&out)
	if err != nil {
		t.Fatal(err)
	}
	values := map[int64]string{}
	kinds := map[string]int{}
	for _, r := range recs {
		kinds[r.Kind]++
		switch r.Kind {
		case "register":
			if r.Status != 201 || r.Node != "a" {
				t.Errorf("register %s on %s = %d %q %s, want 201 on a", r.User, r.Node, r.Status, r.Body, r.Err)
			}
		case "press":
			if r.Status != 200 || !r.HasValue {
				t.Errorf("press of %s on %s = %d %q %s, want 200 with a value", r.User, r.Node, r.Status, r.Body, r.Err)
				continue
			}
			if u, dup := values[r.Value]; dup {
				t.Errorf("value %d given to %s and %s", r.Value, u, r.User)
			}
			values[r.Value] = r.User
		case "read":
			if r.Status != 200 || !r.HasValue || r.Sent.IsZero() {
				t.Errorf("read on %s = %+v", r.Node, r)
			}
		}
	}
	if kinds["register"] != 6 || kinds["press"] != 6 || kinds["read"] < 2 {
		t.Errorf("records by kind %v, want 6 register, 6 press (one each), reads on both nodes", kinds)
	}
}

func TestRunRefusesUnboundedConfig(t *testing.T) {
	cfg := load.Config{Nodes: map[string]string{"a": "http://127.0.0.1:1"}, Users: 1, Register: []string{"a"}, Press: []string{"a"},
		Duration: time.Hour, Timeout: time.Second}
	if err := load.Run(t.Context(), cfg, strings.NewReader("go\n"), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Run with an hour of load = %v, want a refusal naming the bound", err)
	}
}

// TestRunPressMovesOffADeadNode: a node that cannot be connected to is
// passed over for the next node of the continent within the same attempt,
// as a browser behind the continent's name does; the user homed on the
// dead node is counted on the live one, once, at the first attempt.
func TestRunPressMovesOffADeadNode(t *testing.T) {
	redis := redistest.Start(t)
	a := node(t, redis, "127.0.0.1")
	dead := "http://127.0.0.2:1" // nothing listens: connection refused
	cfg := load.Config{Client: "eu", Nodes: map[string]string{"a": a, "dead": dead}, Prefix: "d", Password: "load-password-1",
		Users: 2, Register: []string{"a"}, Press: []string{"a", "dead"},
		Duration: 200 * time.Millisecond, Settle: 10 * time.Second, Timeout: 5 * time.Second}
	var out bytes.Buffer
	if err := load.Run(t.Context(), cfg, strings.NewReader("go\n"), io.Discard, &out); err != nil {
		t.Fatal(err)
	}
	recs, err := load.ReadRecords(&out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{} // user -> kind:node:status:attempt
	for _, r := range recs {
		if r.Kind == "press" || r.Kind == "connect" {
			got[r.User] = append(got[r.User], fmt.Sprintf("%s:%s:%d:%d", r.Kind, r.Node, r.Status, r.Attempt))
		}
	}
	want := map[string]string{cfg.Login(0): "press:a:200:1", cfg.Login(1): "connect:dead:0:1 press:a:200:1"}
	for u, w := range want {
		if g := strings.Join(got[u], " "); g != w {
			t.Errorf("press attempts of %s: %q, want %q", u, g, w)
		}
	}
}
