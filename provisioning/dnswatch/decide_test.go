package dnswatch

import (
	"errors"
	"strings"
	"testing"

	"counter/provisioning/anycast"
)

func testConfig(self string) Config {
	return Config{
		Self: self, Cluster: "lab", Zone: "example.test.", Service: "counter", TTLSeconds: 30,
		Server: "127.0.0.1:53", TSIGName: "k.", TSIGAlg: "hmac-sha256", Sentinel: "127.0.0.1:26379",
		Nodes: []Node{
			{Name: "a", Address: "192.0.2.1", Continent: "eu", Redis: "10.0.0.1:6380", Readyz: "http://192.0.2.1/readyz"},
			{Name: "b", Address: "192.0.2.2", Continent: "eu", Redis: "10.0.0.2:6380", Readyz: "http://192.0.2.2/readyz"},
			{Name: "c", Address: "192.0.2.3", Continent: "na", Redis: "10.0.0.3:6380", Readyz: "http://192.0.2.3/readyz"},
		},
		RTT: []RTT{{A: "eu", B: "na", Ms: 80}},
	}
}

func TestDecide(t *testing.T) {
	all := func(s anycast.State) map[string]anycast.State {
		return map[string]anycast.State{"a": s, "b": s, "c": s}
	}
	tests := []struct {
		name    string
		self    string
		view    View
		act     bool
		healthy []string
		why     string // part of Why when it does not act
	}{
		{"master acts", "a", View{States: all(anycast.Healthy), MasterAddr: "10.0.0.1:6380"}, true, []string{"a", "b", "c"}, ""},
		{"replica stands by", "b", View{States: all(anycast.Healthy), MasterAddr: "10.0.0.1:6380"}, false, nil, "a is master"},
		{"promoted replica acts", "b", View{States: all(anycast.Healthy), MasterAddr: "10.0.0.2:6380"}, true, []string{"a", "b", "c"}, ""},
		{"no quorum", "a", View{States: all(anycast.Healthy), MasterErr: errors.New("NOQUORUM")}, false, nil, "NOQUORUM"},
		{"unknown master", "a", View{States: all(anycast.Healthy), MasterAddr: "10.9.9.9:6380"}, false, nil, "no node"},
		{"waits for counts", "a", View{States: map[string]anycast.State{"a": anycast.Healthy, "b": anycast.Unknown, "c": anycast.Healthy}, MasterAddr: "10.0.0.1:6380"}, false, nil, "[b]"},
		{"unhealthy left out", "a", View{States: map[string]anycast.State{"a": anycast.Healthy, "b": anycast.Healthy, "c": anycast.Unhealthy}, MasterAddr: "10.0.0.1:6380"}, true, []string{"a", "b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Decide(testConfig(tt.self), tt.view)
			if v.Act != tt.act {
				t.Fatalf("Decide(%s) acts = %v (%s), want %v", tt.name, v.Act, v.Why, tt.act)
			}
			if !tt.act {
				if !strings.Contains(v.Why, tt.why) {
					t.Errorf("Why = %q, want it to say %q", v.Why, tt.why)
				}
				return
			}
			var got []string
			for _, n := range []string{"a", "b", "c"} {
				if v.Obs.Healthy[n] {
					got = append(got, n)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.healthy, ",") {
				t.Errorf("healthy = %v, want %v", got, tt.healthy)
			}
			if v.Obs.Master != tt.self {
				t.Errorf("master = %q, want %q", v.Obs.Master, tt.self)
			}
		})
	}
}
