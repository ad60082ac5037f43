package daemon

import (
	"bufio"
	"crypto/tls"
	"net/http"
	"testing"
	"time"
)

// TestEventStreamOutlivesWriteDeadlineOverHTTP2: an open page over HTTPS
// (HTTP/2) keeps its event stream while no value changes. Each event's
// write deadline bounds that write only: left set, HTTP/2 resets the idle
// stream when it passes (INTERNAL_ERROR), and every page reconnects after
// the retry delay, missing changes meanwhile (found by make geobench).
func TestEventStreamOutlivesWriteDeadlineOverHTTP2(t *testing.T) {
	certFile, keyFile, pool := certFiles(t)
	f := newFixture(t, func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	cfg := f.srv.cfg
	cfg.Listen = "127.0.0.1:0"
	d, err := Listen(cfg, f.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- d.Serve(t.Context(), f.srv) }()
	t.Cleanup(func() { <-errc })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	stream, err := client.Get(d.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.ProtoMajor != 2 {
		t.Fatalf("/events over HTTP/%d, want HTTP/2", stream.ProtoMajor)
	}
	events := bufio.NewReader(stream.Body)
	if got := readEvent(t, events); got != "42" {
		t.Fatalf("first event = %q, want 42", got)
	}
	// The scenario itself is time passing: an idle page, past the deadline
	// of the last event's write.
	time.Sleep(eventWriteWithin + 500*time.Millisecond)
	f.srv.hub.Publish(43)
	if got := readEvent(t, events); got != "43" {
		t.Fatalf("event after an idle %s = %q, want 43 on the same stream", eventWriteWithin, got)
	}
}
