package livemaster_test

import (
	"errors"
	"strings"
	"testing"

	"counter/internal/redistest"
	"counter/provisioning/livemaster"
)

// TestDecideWithSentinelMinority: a cluster whose sentinels are only
// partly set up (a provision run that stopped half way) has a minority of
// sentinels answering. When they all name the master the nodes name too,
// that is the answer, from the nodes; when they name another, an error.
func TestDecideWithSentinelMinority(t *testing.T) {
	c := newCluster(t, 3)
	c.follow("m", "mirror", "repa")
	up := redistest.StartSentinel(t, c.srv["m"], masterName, 2)
	down1 := redistest.StartSentinel(t, c.srv["m"], masterName, 2)
	down2 := redistest.StartSentinel(t, c.srv["m"], masterName, 2)
	s := sentinels(up, down1, down2)
	down1.Stop()
	down2.Stop()
	d, err := c.decideWith(t, s)
	if err != nil || d.Master.Name != "m" || d.Source != livemaster.FromNodes || !strings.Contains(d.Why, "1 of 3 sentinels answered") {
		t.Fatalf("DecideWithSentinels = %s from %s (%s), %v; want m from the nodes, saying 1 of 3 sentinels answered", d.Master.Name, d.Source, d.Why, err)
	}

	c.follow("mirror", "m", "repa") // the nodes now say mirror; the lone sentinel still says m
	if _, err := c.decideWith(t, s); !errors.Is(err, livemaster.ErrDisagree) {
		t.Fatalf("a minority of sentinels against the nodes: %v, want ErrDisagree", err)
	}
}
