package dnswatch

import (
	"fmt"
	"slices"

	"counter/provisioning/anycast"
	"counter/provisioning/dnsupdate"
)

// View is one round's input: each node's smoothed health and what the
// local sentinel says.
type View struct {
	States map[string]anycast.State // by node name
	// MasterAddr is host:port of the master the local sentinel names;
	// MasterErr is set when it did not answer or had no quorum reachable.
	MasterAddr string
	MasterErr  error
}

// Verdict is whether this node publishes this round, and what.
type Verdict struct {
	Act bool
	Obs dnsupdate.Observation
	Why string // for the log, when it does not act
}

// Decide turns a View into a Verdict. Only the node the sentinel names
// master acts: every node runs a watcher, and one writer at a time keeps
// two views of health (a node seen from two continents) from undoing each
// other's records. A sentinel that cannot reach a quorum (this node cut off)
// makes it stand by: its view is the minority's. Before every node has
// passed its rise or fall count, it waits, so a restart never publishes a
// half-known cluster.
func Decide(c Config, v View) Verdict {
	if v.MasterErr != nil {
		return Verdict{Why: fmt.Sprintf("standing by: local sentinel: %v", v.MasterErr)}
	}
	master := ""
	for _, n := range c.Nodes {
		if n.Redis == v.MasterAddr {
			master = n.Name
		}
	}
	switch {
	case master == "":
		return Verdict{Why: fmt.Sprintf("standing by: the sentinel's master %s is no node of the configuration", v.MasterAddr)}
	case master != c.Self:
		return Verdict{Why: fmt.Sprintf("standing by: %s is master, its watcher publishes", master)}
	}
	obs := dnsupdate.Observation{Healthy: map[string]bool{}, Master: master}
	var unknown []string
	for _, n := range c.Nodes {
		switch v.States[n.Name] {
		case anycast.Unknown:
			unknown = append(unknown, n.Name)
		case anycast.Healthy:
			obs.Healthy[n.Name] = true
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return Verdict{Why: fmt.Sprintf("waiting for the rise/fall counts of %v", unknown)}
	}
	return Verdict{Act: true, Obs: obs}
}
