// Package phase runs provisioning as an ordered list of small steps on many
// hosts: master first, then the mirror, then the replicas in parallel. Each
// step reports ok, changed or failed per host; dry-run is the runner's
// business, not each step's.
package phase

import (
	"context"

	"counter/provisioning/host"
)

// Step is one unit of provisioning, one file per step. Run must be
// idempotent: a second run on a provisioned host reports OK.
type Step interface {
	Title() string
	Run(ctx context.Context, h host.Host) (Result, error)
}

// ShouldRunner is a step that decides per host whether it applies
// (e.g. only on the master); false reports it skipped.
type ShouldRunner interface {
	ShouldRun(ctx context.Context, h host.Host) (bool, error)
}

// DryRunner is a step that describes itself in a dry run. Steps without it
// run against the host's dry view, where ensures only describe.
type DryRunner interface {
	DryRun(ctx context.Context, h host.Host) (Result, error)
}

// HostLocal is a step that needs nothing from any other host (installing
// packages, say). The runner runs the leading HostLocal steps on every host
// at once, before the waves: a replica's slow, node-local work need not
// wait for the master's.
type HostLocal interface {
	HostLocal()
}

// Status is a step's outcome on one host.
type Status int

// Outcomes, in the order the summary counts them.
const (
	OK      Status = iota // already as wanted
	Changed               // the step changed the host (or would, in dry-run)
	Skipped               // ShouldRun said no, or an earlier step failed, or cancelled
	Failed
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Changed:
		return "changed"
	case Skipped:
		return "skipped"
	}
	return "failed"
}

// Result is what a step did on one host.
type Result struct {
	Status  Status
	Changes []host.Change
}

// Collect turns ensure outcomes into a Result: Changed if any is non-nil.
func Collect(changes ...*host.Change) Result {
	var r Result
	for _, c := range changes {
		if c != nil {
			r.Status = Changed
			r.Changes = append(r.Changes, *c)
		}
	}
	return r
}
