// Package nagios provides the states of monitoring plugins (Nagios, Icinga,
// the Monitoring Plugins project), which `counterctl health` and the RAID
// check report in: their names, exit codes, how they combine, and their JSON.
package nagios

import (
	"encoding/json"
	"fmt"
)

// State is a check's outcome. OK to UNKNOWN are the plugin states, whose
// value is the exit code; Skipped marks a check that was not run and exits 0.
type State int

// The states, in exit-code order, then Skipped.
const (
	OK State = iota
	Warning
	Critical
	Unknown
	Skipped
)

var names = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN", "SKIPPED"}

func (s State) String() string {
	if s < OK || s > Skipped {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return names[s]
}

// ExitCode is the plugin exit code of s.
func (s State) ExitCode() int {
	if s == Skipped {
		return 0
	}
	return int(s)
}

// rank orders states by seriousness. A known CRITICAL must not hide behind an
// UNKNOWN from elsewhere (another tool, another node), so UNKNOWN ranks
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

// Compare orders a and b by seriousness, as cmp.Compare does numbers.
func Compare(a, b State) int { return a.rank() - b.rank() }

// Worse returns the more serious of s and o; OK counts for more than Skipped.
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
	for i, n := range names {
		if n == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("state: unknown name %q", name)
}
