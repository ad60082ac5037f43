package firewall

import (
	"regexp"
	"strconv"
	"testing"
)

// TestRenderMetricsFromAdminsOnly: on every role, counterd's metrics port
// is accepted from the admin networks and by no other rule.
func TestRenderMetricsFromAdminsOnly(t *testing.T) {
	port := DefaultPorts().Metrics
	rule := regexp.MustCompile(`(?m)^\t\t.*\bdport (\{[^}]*\b|)` + strconv.Itoa(int(port)) + `\b.*$`)
	for _, role := range []Role{Master, Mirror, Replica} {
		t.Run(string(role), func(t *testing.T) {
			out, err := Render(cluster(role))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := setElements(t, string(out), "admin_v4"), "203.0.113.0/24"; got != want {
				t.Errorf("admin_v4 = %q, want %q", got, want)
			}
			if got, want := setElements(t, string(out), "admin_v6"), "2001:db8:ad::/48"; got != want {
				t.Errorf("admin_v6 = %q, want %q", got, want)
			}
			rules := rule.FindAllString(string(out), -1)
			want := []string{"\t\tip saddr @admin_v4 tcp dport 9180 accept", "\t\tip6 saddr @admin_v6 tcp dport 9180 accept"}
			if len(rules) != len(want) || rules[0] != want[0] || rules[1] != want[1] {
				t.Errorf("rules naming port %d = %q, want exactly %q", port, rules, want)
			}
		})
	}
}
