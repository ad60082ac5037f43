package steps

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"counter/provisioning/redisconf"
)

// TestCounterdFollowsTheSentinels: counterd writes to the master the
// sentinels name (every node's sentinel, its own first), never to a fixed
// master: a fixed one would need a restart after every failover.
func TestCounterdFollowsTheSentinels(t *testing.T) {
	c := newCluster(t, newHosts())
	port := strconv.Itoa(redisconf.SentinelPort)
	for _, n := range c.Inv.Nodes {
		conf, err := c.CounterdYAML(n)
		if err != nil {
			t.Fatalf("CounterdYAML(%s): %v", n.Name, err)
		}
		text := string(conf)
		if strings.Contains(text, "\nmaster:") {
			t.Errorf("counterd.yaml of %s names a fixed master:\n%s", n.Name, text)
		}
		if want := `master-name: "` + c.Inv.Cluster + `"`; !strings.Contains(text, want) {
			t.Errorf("counterd.yaml of %s lacks %q", n.Name, want)
		}
		var list string
		for _, line := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(line, "sentinels: "); ok {
				list, _ = strconv.Unquote(v)
			}
		}
		got := strings.Split(list, ",")
		if len(got) != len(c.Inv.Nodes) || got[0] != net.JoinHostPort(n.Address, port) {
			t.Errorf("sentinels of %s = %q, want all %d nodes at :%s, its own first", n.Name, got, len(c.Inv.Nodes), port)
		}
	}
}
