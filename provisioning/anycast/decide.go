// Package anycast decides, on a serving node, whether the node announces
// the cluster's anycast /32 over BGP, and tells the node's BIRD. It follows
// counterd's /readyz (which also PINGs the local Redis), with rise and fall
// counts against flapping (anycast-healthchecker's approach), and a guard
// that keeps a merely degraded node announcing while no other serving node
// is ready, so a condition every node shares never withdraws them all.
package anycast

import "fmt"

// Health is what one look at the local counterd found.
type Health int

const (
	// Down: counterd did not answer (refused, timed out, not HTTP). A node
	// whose counterd is down cannot serve anyone: the guard never keeps it.
	Down Health = iota
	// Degraded: counterd answered /readyz with a failure (503: its Redis
	// does not answer, or its value is older than --max-staleness). It still
	// serves its last value, so it is better than no node at all.
	Degraded
	// Ready: /readyz answered 200.
	Ready
)

func (h Health) String() string {
	switch h {
	case Down:
		return "down"
	case Degraded:
		return "degraded"
	case Ready:
		return "ready"
	}
	return fmt.Sprintf("Health(%d)", int(h))
}

// Counts are anycast-healthchecker's rise and fall: how many checks in a
// row must agree before the node's state changes.
type Counts struct {
	Rise, Fall int
}

// Validate says why c cannot be used.
func (c Counts) Validate() error {
	if c.Rise < 1 || c.Fall < 1 {
		return fmt.Errorf("rise %d and fall %d must both be at least 1", c.Rise, c.Fall)
	}
	return nil
}

// State is the node's smoothed health.
type State int

const (
	// Unknown until Rise successes or Fall failures in a row: the announcer
	// leaves BIRD as it is, so its own restart does not withdraw the node.
	Unknown State = iota
	Healthy
	Unhealthy
)

func (s State) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Tracker applies rise and fall counts to a series of checks.
type Tracker struct {
	counts Counts
	state  State
	run    int  // checks in a row with the same result as last
	last   bool // the last check's result
}

// NewTracker starts in Unknown.
func NewTracker(c Counts) *Tracker { return &Tracker{counts: c} }

// Observe records one check (ok: /readyz answered 200) and returns the
// state: Healthy after Rise successes in a row, Unhealthy after Fall
// failures in a row, otherwise unchanged.
func (t *Tracker) Observe(ok bool) State {
	if t.run > 0 && ok == t.last {
		t.run++
	} else {
		t.run = 1
	}
	t.last = ok
	switch {
	case ok && t.run >= t.counts.Rise:
		t.state = Healthy
	case !ok && t.run >= t.counts.Fall:
		t.state = Unhealthy
	}
	return t.state
}

// State is the state after the last Observe.
func (t *Tracker) State() State { return t.state }

// Decision is whether to announce, and why (for the log).
type Decision struct {
	Announce bool
	// Known is false while the state is Unknown: leave BIRD as it is.
	Known  bool
	Reason string
}

// Decide turns the smoothed state, the last check and the peers' view into
// a decision. peersReady is how many other serving nodes answered /readyz
// 200 just now (asked only when it matters); minPeersReady is how many must,
// for an unhealthy but answering node to step back.
//
// The guard: a node that is Unhealthy but whose counterd still answers
// (Degraded, or Ready again but not yet Rise times: it serves its last value) keeps announcing while fewer than minPeersReady
// other nodes are ready: its failure is then one the cluster shares (a
// failover in progress, every replica briefly stale), and withdrawing every
// node would turn a degraded service into none. A node whose counterd is
// Down is withdrawn regardless: announcing it would only black-hole clients.
func Decide(s State, last Health, peersReady, minPeersReady int) Decision {
	switch s {
	case Unknown:
		return Decision{Reason: "waiting for rise/fall counts"}
	case Healthy:
		return Decision{Announce: true, Known: true, Reason: "ready"}
	}
	if last == Down {
		return Decision{Known: true, Reason: "counterd does not answer"}
	}
	if peersReady < minPeersReady {
		return Decision{Announce: true, Known: true,
			Reason: fmt.Sprintf("unhealthy but answering, kept: %d other nodes ready, fewer than %d (a failure the cluster shares)", peersReady, minPeersReady)}
	}
	return Decision{Known: true, Reason: fmt.Sprintf("unhealthy, and %d other nodes ready", peersReady)}
}

// NeedPeers says whether Decide's answer depends on the peers, so the
// announcer asks them only then.
func NeedPeers(s State, last Health) bool { return s == Unhealthy && last != Down }
