package geobench

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"counter/daemon"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// TestProbeAgainstCounterd runs a probe against a real counterd serving
// HTTPS (HTTP/2, the product's session tickets) on a real redis-server:
// every kind of load is timed, returning visitors resume their TLS session,
// each press is a newly registered user's, and the open events page sees
// every pressed value.
func TestProbeAgainstCounterd(t *testing.T) {
	base, certs := startCounterd(t)

	p, err := NewProbe(ProbeConfig{Continent: "eu", Node: "probe-test", BaseURL: base, CAFile: certs.CAFile,
		BgURLs: []string{base}, BgRate: 50, Loads: 3, Presses: 2, PressEvery: 10 * time.Millisecond,
		Login: "probe" + testutil.RandHex(t, 4), StartAt: time.Now(), Run: 6 * time.Second, Grace: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Run(t.Context())
	if res.Failures != 0 {
		t.Fatalf("%d failures: %v", res.Failures, res.Errors)
	}
	for name, got := range map[string][]float64{"new": res.NewConn, "resumed": res.Resumed, "warm": res.Warm} {
		if len(got) != 3 {
			t.Errorf("%s loads: %d timed, want 3", name, len(got))
		}
	}
	if res.ResumedOK != len(res.Resumed) {
		t.Errorf("%d of %d returning loads resumed their TLS session, want all", res.ResumedOK, len(res.Resumed))
	}
	if res.Protocols["HTTP/2.0"] != 9 || res.Nodes["probe-test"] != 9 {
		t.Errorf("answers: protocols %v, nodes %v; want 9 over HTTP/2.0 from probe-test", res.Protocols, res.Nodes)
	}
	if len(res.Presses) != 2 || res.Presses[0].Value != 1 || res.Presses[1].Value != 2 {
		t.Fatalf("presses %+v, want values 1 and 2", res.Presses)
	}
	if at, ok := firstAtLeast(res.Events, 2); !ok || at < res.Presses[1].SentNS {
		t.Errorf("events %+v: value 2 not seen after its press at %d", res.Events, res.Presses[1].SentNS)
	}
	if res.Bg.OK == 0 || res.Bg.Failed != 0 {
		t.Errorf("background %+v, want answered reads and no failures", res.Bg)
	}
}

// startCounterd starts counterd over HTTPS on a real redis-server and
// returns its base URL and the certificates it trusts.
func startCounterd(t *testing.T) (string, testutil.TLS) {
	t.Helper()
	rd := redistest.Start(t)
	certs := testutil.NewTLS(t)
	ctx, cancel := context.WithCancel(t.Context())
	cfg := daemon.DefaultConfig()
	cfg.Listen, cfg.Redis = "127.0.0.1:0", rd.URL()
	cfg.TLSCert, cfg.TLSKey, cfg.NodeName = certs.CertFile, certs.KeyFile, "probe-test"
	srv, err := daemon.Start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start counterd: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Wait() })
	return strings.TrimSuffix(srv.URL(), "/"), certs
}

// TestProbesWatchUntilTheCommonEnd: a probe done with its own work keeps
// its events page open until the agreed end, so it sees the last press of
// a slower continent (a full lab run once missed one press per continent).
func TestProbesWatchUntilTheCommonEnd(t *testing.T) {
	base, certs := startCounterd(t)
	start := time.Now()
	mk := func(cont string, presses int) *Probe {
		p, err := NewProbe(ProbeConfig{Continent: cont, Node: "probe-test", BaseURL: base, CAFile: certs.CAFile,
			Loads: 1, Presses: presses, PressEvery: 2 * time.Second, Login: "late" + testutil.RandHex(t, 4),
			StartAt: start, Run: 3 * time.Second, Grace: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	idle, late := mk("idle", 0), mk("late", 1)
	done := make(chan ProbeResult)
	go func() { done <- idle.Run(t.Context()) }()
	lateRes := late.Run(t.Context())
	idleRes := <-done
	if len(lateRes.Presses) != 1 {
		t.Fatalf("late probe: presses %+v, errors %v", lateRes.Presses, lateRes.Errors)
	}
	if _, ok := firstAtLeast(idleRes.Events, lateRes.Presses[0].Value); !ok {
		t.Errorf("the idle probe's page never showed the late press (value %d): events %+v", lateRes.Presses[0].Value, idleRes.Events)
	}
}
