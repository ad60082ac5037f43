package steps

import (
	"strings"
	"testing"
)

// TestCounterdMetricsOnNodeAddress: each node's counterd serves /metrics on
// its own address at the port the firewall opens to the admin networks,
// never on the public :80.
func TestCounterdMetricsOnNodeAddress(t *testing.T) {
	c := newCluster(t, newHosts())
	for _, n := range c.Inv.Nodes {
		conf, err := c.CounterdYAML(n)
		if err != nil {
			t.Fatalf("CounterdYAML(%s): %v", n.Name, err)
		}
		want := `metrics-listen: "` + n.Address + `:9180"` + "\n"
		if !strings.Contains(string(conf), want) {
			t.Errorf("counterd.yaml of %s lacks %q:\n%s", n.Name, want, conf)
		}
	}
}
