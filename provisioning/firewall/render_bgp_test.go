package firewall

import (
	"regexp"
	"strings"
	"testing"
)

// TestRenderBGPFromPeersOnly: with BGP peers, BGP and BFD are accepted
// from them and by no other rule; without, no rule names those ports.
func TestRenderBGPFromPeersOnly(t *testing.T) {
	rule := regexp.MustCompile(`(?m)^\t\t.*\bdport (\{[^}]*\b|)(179|3784|3785)\b.*$`)
	p := cluster(Replica)
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	if rules := rule.FindAllString(string(out), -1); len(rules) != 0 || strings.Contains(string(out), "bgp_v4") {
		t.Errorf("without BGP peers the ruleset opens BGP/BFD: %q", rules)
	}
	p.BGPPeers = addrList("198.51.100.18", "198.51.100.17")
	out, err = Render(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := setElements(t, string(out), "bgp_v4"), "198.51.100.17, 198.51.100.18"; got != want {
		t.Errorf("bgp_v4 = %q, want %q", got, want)
	}
	want := []string{
		"\t\tip saddr @bgp_v4 tcp dport 179 accept",
		"\t\tip6 saddr @bgp_v6 tcp dport 179 accept",
		"\t\tip saddr @bgp_v4 udp dport { 3784, 3785 } accept",
		"\t\tip6 saddr @bgp_v6 udp dport { 3784, 3785 } accept",
	}
	if rules := rule.FindAllString(string(out), -1); strings.Join(rules, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules naming BGP/BFD ports = %q, want exactly %q", rules, want)
	}
}
