package anycast

import (
	"strings"
	"testing"
)

func TestTrackerRiseFall(t *testing.T) {
	const (
		U = Unknown
		H = Healthy
		X = Unhealthy
	)
	tests := []struct {
		name   string
		counts Counts
		checks string // '+' ready, '-' not
		want   []State
	}{
		{"unknown until rise", Counts{3, 2}, "+++", []State{U, U, H}},
		{"unknown until fall", Counts{3, 2}, "--", []State{U, X}},
		{"a mixed start stays unknown", Counts{2, 2}, "+-+-", []State{U, U, U, U}},
		{"one failure does not fall", Counts{2, 3}, "++-+--+", []State{U, H, H, H, H, H, H}},
		{"fall after fall failures in a row", Counts{2, 3}, "++---", []State{U, H, H, H, X}},
		{"a success resets the fall count", Counts{1, 3}, "+--+---", []State{H, H, H, H, H, H, X}},
		{"rise after rise successes in a row", Counts{3, 1}, "-++-+++", []State{X, X, X, X, X, X, H}},
		{"rise 1 fall 1 follows every check", Counts{1, 1}, "+-+", []State{H, X, H}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(tt.counts)
			for i, c := range tt.checks {
				if got := tr.Observe(c == '+'); got != tt.want[i] {
					t.Fatalf("after %q: state %v, want %v", tt.checks[:i+1], got, tt.want[i])
				}
			}
		})
	}
}

func TestDecideGuard(t *testing.T) {
	tests := []struct {
		name          string
		state         State
		last          Health
		peers, min    int
		announce      bool
		known         bool
		reasonContain string
	}{
		{"unknown leaves the router alone", Unknown, Ready, 0, 1, false, false, "waiting"},
		{"healthy announces", Healthy, Ready, 0, 1, true, true, "ready"},
		{"healthy announces through one failed check", Healthy, Degraded, 0, 1, true, true, "ready"},
		{"degraded withdraws when a peer is ready", Unhealthy, Degraded, 1, 1, false, true, "1 other nodes ready"},
		{"degraded is kept when no peer is ready (shared failure)", Unhealthy, Degraded, 0, 1, true, true, "shares"},
		{"degraded is kept below the minimum", Unhealthy, Degraded, 1, 2, true, true, "fewer than 2"},
		{"rising again counts as answering", Unhealthy, Ready, 0, 1, true, true, "shares"},
		{"down withdraws even with no peer ready", Unhealthy, Down, 0, 1, false, true, "does not answer"},
		{"min 0 turns the guard off", Unhealthy, Degraded, 0, 0, false, true, "0 other nodes ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.state, tt.last, tt.peers, tt.min)
			if d.Announce != tt.announce || d.Known != tt.known || !strings.Contains(d.Reason, tt.reasonContain) {
				t.Errorf("Decide(%v, %v, %d, %d) = %+v, want announce %v known %v reason containing %q",
					tt.state, tt.last, tt.peers, tt.min, d, tt.announce, tt.known, tt.reasonContain)
			}
			if got, want := NeedPeers(tt.state, tt.last), tt.state == Unhealthy && tt.last != Down; got != want {
				t.Errorf("NeedPeers(%v, %v) = %v, want %v", tt.state, tt.last, got, want)
			}
		})
	}
}

func TestCountsValidate(t *testing.T) {
	for _, c := range []Counts{{0, 1}, {1, 0}, {-1, 3}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Counts%+v.Validate() = nil, want an error", c)
		}
	}
	if err := (Counts{1, 1}).Validate(); err != nil {
		t.Errorf("Counts{1,1}.Validate() = %v", err)
	}
}
