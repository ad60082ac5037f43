package daemon

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

// startDaemon serves f's Server on 127.0.0.1:0 until the test ends; cancel drains it.
func startDaemon(t *testing.T, f *fixture, cfg Config, short ...timeouts) (base string, cancel func() error) {
	t.Helper()
	d, cancel := serveDaemon(t, f.srv, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), short...)
	return "http://" + d.Addr().String(), cancel
}

// serveDaemon serves srv as cfg says on 127.0.0.1:0, logging to log, until the
// test ends; cancel drains it and returns what Serve did.
func serveDaemon(t testing.TB, srv *Server, cfg Config, log *slog.Logger, short ...timeouts) (d *Daemon, cancel func() error) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	d, err := Listen(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range short {
		d.timeouts = to
	}
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Serve(ctx, srv) }()
	var done bool
	var serveErr error
	cancel = func() error {
		if !done {
			stop()
			serveErr, done = <-errc, true
		}
		return serveErr
	}
	t.Cleanup(func() { cancel() })
	return d, cancel
}

// readEvent returns the data of the next value event (unnamed) of an event stream.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	named := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read event stream: %v", err)
		}
		if strings.HasPrefix(line, "event: ") {
			named = true
		} else if line == "\n" {
			named = false
		} else if v, ok := strings.CutPrefix(line, "data: "); ok && !named {
			return strings.TrimSpace(v)
		}
	}
}

func TestEventsStreamChangesAndEndOnShutdown(t *testing.T) {
	f := newFixture(t, nil)
	base, cancel := startDaemon(t, f, f.srv.cfg)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q, want text/event-stream", ct)
	}
	r := bufio.NewReader(resp.Body)
	if got := readEvent(t, r); got != "42" {
		t.Fatalf("first event = %q, want the current value 42", got)
	}
	if _, err := f.store.IncrementLogin(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if got := readEvent(t, r); got != "43" {
		t.Fatalf("event after increment = %q, want 43", got)
	}
	// Many changes at once coalesce: the stream ends on the latest value.
	for i := int64(100); i <= 200; i++ {
		f.srv.hub.Publish(i)
	}
	for got := ""; got != "200"; got = readEvent(t, r) {
	}

	start := time.Now()
	if err := cancel(); err != nil {
		t.Fatalf("Serve after cancel = %v, want nil", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("drain took %v with an open event stream", took)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Errorf("stream after shutdown: %v, want a clean end", err)
	}
	if n := f.srv.hub.Clients(); n != 0 {
		t.Errorf("%d subscribers left after shutdown", n)
	}
}

func TestEventsUnsubscribeOnDisconnect(t *testing.T) {
	f := newFixture(t, nil)
	base, _ := startDaemon(t, f, f.srv.cfg)
	ctx, hangUp := context.WithCancel(t.Context())
	rq, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	readEvent(t, bufio.NewReader(resp.Body))
	if n := f.srv.hub.Clients(); n != 1 {
		t.Fatalf("clients = %d, want 1", n)
	}
	hangUp()
	resp.Body.Close()
	testutil.Eventually(t, 5*time.Second, "subscriber unregistered after the client left", func() bool { return f.srv.hub.Clients() == 0 })
}

func TestEventsOutliveServerTimeouts(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1 hijacked"} {
		t.Run(proto, func(t *testing.T) {
			f := newFixture(t, nil)
			short := timeouts{readHeader: 100 * time.Millisecond, read: 100 * time.Millisecond,
				write: 100 * time.Millisecond, idle: time.Second}
			base, _ := startDaemon(t, f, f.srv.cfg, short)
			resp, err := http.Get(base + "/events")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			r := bufio.NewReader(resp.Body)
			readEvent(t, r)
			// Outlast every server timeout; then the stream must still deliver.
			time.Sleep(500 * time.Millisecond)
			f.srv.hub.Publish(7)
			if got := readEvent(t, r); got != "7" {
				t.Fatalf("event after the server timeouts = %q, want 7", got)
			}
		})
	}
}

// readStale returns the data of the next "stale" event.
func readStale(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	named := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read event stream: %v", err)
		}
		switch {
		case line == "event: stale\n":
			named = true
		case named && strings.HasPrefix(line, "data: "):
			return strings.TrimSpace(strings.TrimPrefix(line, "data: "))
		case line == "\n":
			named = false
		}
	}
}

// setConfirmed makes the fake store's value confirmed age ago.
func (f *fixture) setConfirmed(age time.Duration) {
	f.store.mu.Lock()
	f.store.confirmed = f.clock.now().Add(-age)
	f.store.mu.Unlock()
}

func TestEventsTellOpenPagesWhenTheValueIsOld(t *testing.T) {
	f := newFixture(t, nil)
	base, _ := startDaemon(t, f, f.srv.cfg)
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readEvent(t, r)

	f.setConfirmed(3 * time.Second) // more than --max-staleness 2s
	if got := readStale(t, r); got != "1" {
		t.Fatalf("stale event = %q, want 1", got)
	}
	f.setConfirmed(0)
	if got := readStale(t, r); got != "0" {
		t.Fatalf("stale event after recovery = %q, want 0", got)
	}
	// A page opened while the value is old learns it at once.
	f.setConfirmed(time.Minute)
	if got := readStale(t, r); got != "1" {
		t.Fatalf("stale event = %q, want 1", got)
	}
	late, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer late.Body.Close()
	if got := readStale(t, bufio.NewReader(late.Body)); got != "1" {
		t.Fatalf("stale event on a new stream = %q, want 1", got)
	}
}

func TestRequestHeaderCap(t *testing.T) {
	f := newFixture(t, nil)
	base, _ := startDaemon(t, f, f.srv.cfg)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range []struct {
		padding  int
		wantCode int
	}{
		{padding: maxHeaderBytes - 1024, wantCode: http.StatusOK},
		{padding: maxHeaderBytes, wantCode: http.StatusRequestHeaderFieldsTooLarge},
	} {
		r, err := http.NewRequestWithContext(t.Context(), "GET", base+"/getvalue", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("X-Padding", strings.Repeat("a", tt.padding))
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wantCode {
			t.Errorf("a %d-byte header: %s, want %d", tt.padding, resp.Status, tt.wantCode)
		}
	}
}
