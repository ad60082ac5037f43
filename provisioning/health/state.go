// Package health grades a counter cluster the way monitoring plugins do:
// every node's facts (gathered by package probe) are checked against the
// inventory's thresholds, each check ends OK, WARNING, CRITICAL or UNKNOWN
// (or SKIPPED when the project does not have what it would check), and the
// worst of them is the exit code cron, Nagios or Icinga act on.
//
// The JSON form (Report) is a contract for scripts: field names only ever
// get added, never renamed.
package health

import (
	"encoding/json"
	"fmt"
)

// State is a check's outcome. OK to UNKNOWN are the Nagios plugin states,
// whose value is the exit code; Skipped marks a check that was not run
// and exits 0.
type State int

// The states, in exit-code order, then Skipped.
const (
	OK State = iota
	Warning
	Critical
	Unknown
	Skipped
)

var stateNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN", "SKIPPED"}

func (s State) String() string {
	if s < OK || s > Skipped {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// ExitCode is the monitoring plugin exit code of s.
func (s State) ExitCode() int {
	if s == Skipped {
		return 0
	}
	return int(s)
}

// rank orders states for aggregation like package raid does: a known
// CRITICAL must not hide behind an UNKNOWN elsewhere, so UNKNOWN ranks
// between WARNING and CRITICAL; a skipped check counts for nothing.
func (s State) rank() int {
	switch s {
	case Warning:
		return 1
	case Unknown:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// Worse returns the more serious of s and o.
func (s State) Worse(o State) State {
	if o.rank() > s.rank() || (s == Skipped && o == OK) {
		return o
	}
	return s
}

// Failing reports whether s needs attention.
func (s State) Failing() bool { return s.rank() > 0 }

// MarshalJSON writes the state's name.
func (s State) MarshalJSON() ([]byte, error) {
	if s < OK || s > Skipped {
		return nil, fmt.Errorf("marshal state: invalid value %d", int(s))
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON reads a name written by MarshalJSON.
func (s *State) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	for i, n := range stateNames {
		if n == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("state: unknown name %q", name)
}

// Check names, stable: --warn-only and the JSON use them.
const (
	CheckSSH         = "ssh"
	CheckReadyz      = "readyz"
	CheckValue       = "value"
	CheckRedisRole   = "redis-role"
	CheckReplication = "replication"
	CheckSentinel    = "sentinel"
	CheckMemory      = "memory"
	CheckDisk        = "disk"
	CheckTLSCert     = "tls-cert"
	CheckClock       = "clock"
	CheckRAID        = "raid"
	CheckDNS         = "dns"
)

// CheckNames lists every check in the order results are reported.
func CheckNames() []string {
	return []string{
		CheckSSH, CheckReadyz, CheckValue, CheckRedisRole, CheckReplication, CheckSentinel,
		CheckMemory, CheckDisk, CheckTLSCert, CheckClock, CheckRAID, CheckDNS,
	}
}

// title is how the text output names a check.
func title(check string) string {
	switch check {
	case CheckReadyz:
		return "counterd /readyz"
	case CheckRedisRole:
		return "redis role"
	case CheckTLSCert:
		return "tls certificate"
	}
	return check
}

// Result is one check on one node.
type Result struct {
	Node    string `json:"node"`
	Check   string `json:"check"`
	State   State  `json:"state"`
	Message string `json:"message"`
	// BlockedBy names the failed check this one could not run without:
	// a check of the same node ("ssh" for everything read over SSH) or
	// NODE/CHECK of another ("master/value"). The text output leaves such
	// results out; their cause is already there.
	BlockedBy string `json:"blocked_by,omitempty"`
	// CappedFrom is the state --warn-only lowered to WARNING.
	CappedFrom *State `json:"capped_from,omitempty"`
}
