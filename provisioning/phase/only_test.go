package phase

import (
	"context"
	"slices"
	"testing"

	"counter/provisioning/host"
)

// Only limits steps per host: node add provisions the new node fully and
// only the firewall elsewhere.
func TestOnlyRunsChosenStepsPerHost(t *testing.T) {
	j := &journal{}
	r := &Runner{
		Steps: []Step{ensureFile("/etc/redis.conf"), ensureFile("/etc/nftables.conf")},
		Only: func(s Step, h host.Host) bool {
			return h.Name() == "new" || s.Title() == "write /etc/nftables.conf"
		},
	}
	rep := r.Run(context.Background(), hosts(j, "master"), hosts(j, "new"))
	got := j.list()
	slices.Sort(got)
	want := []string{"master: write /etc/nftables.conf", "new: write /etc/nftables.conf", "new: write /etc/redis.conf"}
	if !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	for _, h := range rep.Hosts {
		if h.Host == "master" && h.Steps[0].Status != Skipped {
			t.Errorf("master's redis.conf step: %v, want skipped", h.Steps[0].Status)
		}
	}
}
