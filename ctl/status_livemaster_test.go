//go:build !node

package ctl

import (
	"bytes"
	"strings"
	"testing"

	"counter/internal/redisinfo"
	"counter/provisioning/inventory"
)

// TestStatusAfterSwitchover: the mirror is master and the others follow
// it. status names the mirror, measures lag against its offset, and flags
// no node, though the inventory still says role: master for another.
func TestStatusAfterSwitchover(t *testing.T) {
	inv := &inventory.Inventory{Nodes: []inventory.Node{
		{Name: "master", Address: "10.213.1.2", Role: inventory.RoleMaster},
		{Name: "mirror", Address: "10.213.2.2", Role: inventory.RoleMirror},
		{Name: "na", Address: "10.213.3.2", Role: inventory.RoleReplica},
	}}
	follows := func(host string) redisinfo.Fields {
		return redisinfo.Fields{"role": "slave", "master_host": host, "master_port": "6380", "connected_slaves": "0"}
	}
	ss := []nodeStatus{
		{Node: "master", Role: "master", Reachable: true, RedisRole: "replica", Link: "up", offset: 900, info: follows("10.213.2.2")},
		{Node: "mirror", Role: "mirror", Reachable: true, RedisRole: "master", offset: 1000, info: redisinfo.Fields{"role": "master", "connected_slaves": "2"}},
		{Node: "na", Role: "replica", Reachable: true, RedisRole: "replica", Link: "up", offset: 700, info: follows("10.213.2.2")},
	}
	d, err := decideFromStatus(t.Context(), inv, ss)
	if err != nil || d.Master.Name != "mirror" {
		t.Fatalf("decideFromStatus = %s, %v; want mirror", d.Master.Name, err)
	}
	lagBytes(ss, d.Master.Name)
	if !ss[1].LiveMaster || ss[0].LagBytes == nil || *ss[0].LagBytes != 100 || ss[2].LagBytes == nil || *ss[2].LagBytes != 300 {
		t.Errorf("after lagBytes: mirror live=%v, master lag %v, na lag %v; want true, 100, 300", ss[1].LiveMaster, ss[0].LagBytes, ss[2].LagBytes)
	}
	var out bytes.Buffer
	if err := writeStatus(&out, ss); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "!") {
		t.Errorf("status flags a node though every one is where the live master puts it:\n%s", out.String())
	}
}
