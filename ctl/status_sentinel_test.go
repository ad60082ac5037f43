//go:build !node

package ctl

import (
	"bytes"
	"strings"
	"testing"

	"counter/internal/redisinfo"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
)

// TestStatusSentinelMajority: the sentinels' majority names the mirror,
// which they promoted; the old master, back alone, still claims master.
// status follows the sentinels, flags the old master's Redis and the one
// sentinel that disagrees, and shows every sentinel's view by node name.
func TestStatusSentinelMajority(t *testing.T) {
	inv := &inventory.Inventory{Nodes: []inventory.Node{
		{Name: "master", Address: "10.213.1.2", Role: inventory.RoleMaster},
		{Name: "mirror", Address: "10.213.2.2", Role: inventory.RoleMirror},
		{Name: "na", Address: "10.213.3.2", Role: inventory.RoleReplica},
	}}
	ss := []nodeStatus{
		{Node: "master", Role: "master", Reachable: true, RedisRole: "master", sentinelAddr: "10.213.1.2:6380",
			info: redisinfo.Fields{"role": "master", "connected_slaves": "0"}},
		{Node: "mirror", Role: "mirror", Reachable: true, RedisRole: "master", sentinelAddr: "10.213.2.2:6380",
			info: redisinfo.Fields{"role": "master", "connected_slaves": "1"}},
		{Node: "na", Role: "replica", Reachable: true, RedisRole: "replica", Link: "up", sentinelAddr: "10.213.2.2:6380",
			info: redisinfo.Fields{"role": "slave", "master_host": "10.213.2.2", "master_port": "6380", "connected_slaves": "0"}},
	}
	d, err := decideFromStatus(t.Context(), inv, ss)
	if err != nil || d.Master.Name != "mirror" || d.Source != livemaster.FromSentinels {
		t.Fatalf("decideFromStatus = %s from %s, %v; want mirror from the sentinels", d.Master.Name, d.Source, err)
	}
	sentinelNames(inv, ss)
	lagBytes(ss, d.Master.Name)
	var out bytes.Buffer
	if err := writeStatus(&out, ss); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	for _, tt := range []struct {
		line int
		want []string
	}{
		{1, []string{"master", "master!", "master!"}}, // its Redis and its sentinel against the majority
		{2, []string{"mirror", "master ", "mirror "}},
		{3, []string{"na", "mirror "}},
	} {
		for _, w := range tt.want {
			if !strings.Contains(lines[tt.line]+" ", w) {
				t.Errorf("line %q lacks %q\n%s", lines[tt.line], w, out.String())
			}
		}
	}
}
