//go:build !node

package ctl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"counter/provisioning/host"
	"counter/provisioning/steps"
)

type namedHost struct {
	host.Host
	name string
}

func (h namedHost) Name() string { return h.name }

func TestNodeAddProvisionsTheNewNodeAndOnlyTheFirewallElsewhere(t *testing.T) {
	only := onlyOn("oceania", "firewall")
	for _, s := range steps.All(&steps.Cluster{}) {
		if !only(s, namedHost{name: "oceania"}) {
			t.Errorf("step %q skipped on the new node", s.Title())
		}
		if got, want := only(s, namedHost{name: "master"}), s.Title() == "firewall"; got != want {
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
