package geobench

import (
	"context"
	"testing"
	"time"

	"counter/internal/netnsdir"
	"counter/internal/testutil"
)

// TestPingPeer: the lab's own round trip is timed echo by echo in the
// probe's namespace, and an echo nobody answers is counted lost, not
// timed. Each case runs in a namespace of its own, with only lo.
func TestPingPeer(t *testing.T) {
	testutil.NeedRoot(t, "an ICMP raw socket and a network namespace")
	tests := []struct {
		name       string
		ignoreEcho bool // the kernel answers no echo
	}{
		{"answered", false},
		{"unanswered", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := testutil.NewNetns(t, "ctr-gbping"+string(rune('a'+i)))
			if tt.ignoreEcho {
				testutil.Run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "net.ipv4.icmp_echo_ignore_all=1")
			}
			p, err := NewProbe(ProbeConfig{Continent: "eu", BaseURL: "https://127.0.0.1", NodeAddr: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			if err := netnsdir.In(ns, func() error { p.ping(ctx, 10*time.Millisecond); return nil }); err != nil {
				t.Fatal(err)
			}
			res := p.result()
			if res.Failures != 0 {
				t.Fatalf("%d failures: %v", res.Failures, res.Errors)
			}
			if tt.ignoreEcho {
				if len(res.Ping) != 0 || res.PingLost == 0 {
					t.Errorf("no echo answered: %d timed, %d lost; want 0 timed, every one lost", len(res.Ping), res.PingLost)
				}
				return
			}
			if len(res.Ping) < 5 || res.PingLost != 0 {
				t.Errorf("lo answers every echo: %d timed, %d lost; want 5 or more (300 ms every 10 ms) and none lost", len(res.Ping), res.PingLost)
			}
			for _, v := range res.Ping {
				if v <= 0 || v > 1000 {
					t.Errorf("round trip on lo %v ms", v)
				}
			}
		})
	}
}
