package health

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/nagios"
	"counter/provisioning/probe"
)

// Report is one run's outcome; with --output json it is printed as is.
type Report struct {
	Cluster string `json:"cluster"`
	// State is the worst of the results; its exit code is the command's.
	State nagios.State `json:"state"`
	// Summary is the first line of the text output.
	Summary string `json:"summary"`
	Master  string `json:"master"` // the inventory's master
	Nodes   int    `json:"nodes"`  // nodes reported on
	// NodesReady counts the nodes that answered /readyz with 200 and were
	// reached over SSH: a counterd serving its held value on a node that
	// cannot be reached is not called ready.
	NodesReady int `json:"nodes_ready"`
	// NodesUnreachable counts the nodes SSH could not reach.
	NodesUnreachable int `json:"nodes_unreachable"`
	// MaxLagSeconds is the longest any replica has not heard from its
	// master (link up or down); null when no replica reported it.
	MaxLagSeconds   *int64    `json:"max_lag_seconds"`
	CheckedAt       time.Time `json:"checked_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Results holds every check of every node, skipped ones included, in
	// node then check order.
	Results []Result `json:"results"`
}

// ExitCode is the monitoring plugin exit code of the report.
func (r *Report) ExitCode() int { return r.State.ExitCode() }

// capWarnOnly lowers the failures of the named checks to WARNING.
func capWarnOnly(rs []Result, warnOnly []string) {
	for i := range rs {
		if st := rs[i].State; (st == nagios.Critical || st == nagios.Unknown) && slices.Contains(warnOnly, rs[i].Check) {
			rs[i].CappedFrom = &st
			rs[i].State = nagios.Warning
		}
	}
}

func (r *Report) summarise(facts []*probe.Facts, nodes []inventory.Node) {
	r.Nodes = len(nodes)
	r.State = nagios.OK
	readyz, reached := map[string]bool{}, map[string]bool{}
	for _, res := range r.Results {
		r.State = r.State.Worse(res.State)
		switch res.Check {
		case CheckReadyz:
			readyz[res.Node] = res.State == nagios.OK
		case CheckSSH:
			reached[res.Node] = res.State == nagios.OK
		}
	}
	for _, n := range nodes {
		if !reached[n.Name] {
			r.NodesUnreachable++
		} else if readyz[n.Name] {
			r.NodesReady++
		}
	}
	for _, f := range facts {
		if f == nil || !slices.ContainsFunc(nodes, func(n inventory.Node) bool { return n.Name == f.Node.Name }) {
			continue
		}
		if v := f.Redis.V; f.Redis.Err == nil && v.Role == "slave" && v.SinceMaster >= 0 {
			if r.MaxLagSeconds == nil || v.SinceMaster > *r.MaxLagSeconds {
				lag := v.SinceMaster
				r.MaxLagSeconds = &lag
			}
		}
	}
	lag := "max lag unknown"
	if !slices.ContainsFunc(nodes, func(n inventory.Node) bool { return n.Role != inventory.RoleMaster }) {
		lag = "no replicas"
	}
	if r.MaxLagSeconds != nil {
		lag = fmt.Sprintf("max lag %ds", *r.MaxLagSeconds)
	}
	unreachable := ""
	if r.NodesUnreachable > 0 {
		unreachable = fmt.Sprintf(" (%d unreachable)", r.NodesUnreachable)
	}
	r.Summary = fmt.Sprintf("COUNTER %s - %d/%d nodes ready%s, master=%s, %s", r.State, r.NodesReady, r.Nodes, unreachable, r.Master, lag)
	if counts := r.counts(); counts != "" {
		r.Summary += "; " + counts
	}
}

// counts says how many checks failed, by state, worst first.
func (r *Report) counts() string {
	n := map[nagios.State]int{}
	for _, res := range r.Results {
		if res.State.Failing() && res.BlockedBy == "" {
			n[res.State]++
		}
	}
	var parts []string
	for _, st := range []nagios.State{nagios.Critical, nagios.Unknown, nagios.Warning} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], strings.ToLower(st.String())))
		}
	}
	return strings.Join(parts, ", ")
}
