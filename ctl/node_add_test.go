//go:build !node

package ctl

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/sshx/sshxtest"
	"counter/provisioning/steps"
)

type namedHost struct {
	host.Host
	name string
}

func (h namedHost) Name() string { return h.name }

// The others re-render what counts the nodes: the firewall and
// sentinel.conf (steps' TestSentinelConfCountsTheNodes).
func TestNodeAddProvisionsTheNewNodeAndTheFirewallAndSentinelElsewhere(t *testing.T) {
	only := onlyOn("oceania", countingNodes...)
	for _, s := range steps.All(&steps.Cluster{}) {
		if !only(s, namedHost{name: "oceania"}) {
			t.Errorf("step %q skipped on the new node", s.Title())
		}
		if got, want := only(s, namedHost{name: "master"}), s.Title() == "firewall" || s.Title() == "sentinel"; got != want {
			t.Errorf("step %q on another node: runs %v, want %v", s.Title(), got, want)
		}
	}
}

func TestInSync(t *testing.T) {
	base := func() []nodeStatus {
		return []nodeStatus{
			{Node: "master", Reachable: true, RedisRole: "master"},
			{Node: "oceania", Reachable: true, RedisRole: "replica", Link: "up", LagBytes: ptr(10)},
		}
	}
	tests := []struct {
		name   string
		change func(s *nodeStatus)
		want   string // "" = in sync
	}{
		{"caught up", func(*nodeStatus) {}, ""},
		{"unreachable", func(s *nodeStatus) { s.Reachable, s.Error = false, "ssh: i/o timeout" }, "unreachable: ssh: i/o timeout"},
		{"still a master", func(s *nodeStatus) { s.RedisRole = "master" }, `Redis is "master", not yet a replica`},
		{"link down", func(s *nodeStatus) { s.Link = "down" }, "link to master is down"},
		{"far behind", func(s *nodeStatus) { s.LagBytes = ptr(5000) }, "5000 bytes behind master"},
		{"lag unknown", func(s *nodeStatus) { s.LagBytes = nil }, "lag behind master unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := base()
			tt.change(&ss[1])
			err := inSync(ss, "oceania", "master", 1024)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("inSync = %v, want %q", err, tt.want)
			}
		})
	}
	if err := inSync(base(), "nowhere", "master", 1024); err == nil {
		t.Error("inSync of a node not probed = nil, want an error")
	}
}

func TestNodeAddRefusesBeforeConnecting(t *testing.T) {
	inv, _ := sshLab(t, map[string]string{"master": "master", "mirror": "mirror"})
	tests := []struct {
		name, node, want string
	}{
		{"not in the inventory", "oceania", "oceania is not in"},
		{"the inventory's master", "master", "role: master"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newNodeCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs([]string{"add", tt.node, "-i", inv.Path})
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("node add %s = %v, want an error containing %q", tt.node, err, tt.want)
			}
		})
	}
}

func TestNodeRemoveRefusesBeforeChangingAnything(t *testing.T) {
	inv, _ := sshLab(t, map[string]string{"master": "master", "mirror": "mirror"})
	tests := []struct {
		name, node, want string
	}{
		{"not in the inventory", "oceania", "oceania is not in"},
		// No node's Redis answers here: the inventory's master is the live one.
		{"the live master", "master", "master is the live master"},
		{"no password for counterctl", "mirror", "secret sentinel_counterctl_password: environment variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newNodeCmd()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs([]string{"remove", tt.node, "-i", inv.Path})
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("node remove %s = %v, want an error containing %q\n%s", tt.node, err, tt.want, out.String())
			}
		})
	}
}

func TestWithoutLeavesTheNodeOut(t *testing.T) {
	inv, _ := sshLab(t, map[string]string{"master": "master", "mirror": "mirror", "na": "replica"})
	w := inv.Without("na")
	if _, ok := w.Node("na"); ok || len(w.Nodes) != 2 || len(inv.Nodes) != 3 {
		t.Errorf("Without(na): %d nodes (na there: %v), original %d; want 2, false, 3", len(w.Nodes), ok, len(inv.Nodes))
	}
}

// A removed node's services are stopped and disabled; a unit it does not
// have (no Sentinel yet) is passed over, any other failure stops the removal.
func TestNodeRemoveStopsTheUnits(t *testing.T) {
	bin := t.TempDir()
	calls := filepath.Join(t.TempDir(), "calls")
	testutil.WriteFile(t, filepath.Join(bin, "systemctl"), []byte(`#!/bin/sh
echo "$@" >> `+calls+`
case "$3" in
redis-sentinel.service) echo "Failed to disable unit: Unit file redis-sentinel.service does not exist." >&2; exit 1;;
esac
[ -e `+calls+`.fail ] && { echo "Job for $3 failed" >&2; exit 1; }
exit 0
`), 0o755)
	inv, _ := sshLab(t, map[string]string{"master": "master", "na": "replica"}, sshxtest.WithPath(bin))
	conn := host.NewConnector(inv, host.ConnectOptions{})
	defer conn.Close()
	n, _ := inv.Node("na")
	c, err := conn.Client(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := stopUnits(context.Background(), c, &out); err != nil {
		t.Fatalf("stopUnits: %v\n%s", err, out.String())
	}
	want := "disable --now counterd.service\ndisable --now redis-sentinel.service\ndisable --now redis-server.service\n"
	if got := string(testutil.ReadFile(t, calls)); got != want {
		t.Errorf("systemctl calls:\n%s\nwant:\n%s", got, want)
	}
	testutil.WriteFile(t, calls+".fail", nil, 0o600)
	if err := stopUnits(context.Background(), c, &out); err == nil || !strings.Contains(err.Error(), "Job for counterd.service failed") {
		t.Errorf("stopUnits with a failing unit = %v, want its error", err)
	}
}
