// Package raid checks a node's RAID arrays and battery-backed write caches.
//
// The original design asks for RAID 10 behind a battery-backed (BBU) controller
// on every node. Check reads Linux software RAID (/proc/mdstat, mdadm --detail)
// and, when their command-line tools are installed, Broadcom/LSI (storcli,
// MegaCli) and HPE Smart Array (ssacli) controllers, and grades what it finds
// with the Nagios severities that `counterctl health` reuses.
package raid

import (
	"encoding/json"
	"fmt"
	"time"
)

// Severity is a Nagios plugin state; its integer value is the plugin exit code.
type Severity int

// The Nagios states, in exit-code order.
const (
	OK Severity = iota
	Warning
	Critical
	Unknown
)

var severityNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

func (s Severity) String() string {
	if s < OK || s > Unknown {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// rank orders severities for aggregation: a known CRITICAL must not hide behind
// an UNKNOWN from another tool, so UNKNOWN ranks between WARNING and CRITICAL.
func (s Severity) rank() int {
	switch s {
	case OK:
		return 0
	case Warning:
		return 1
	case Unknown:
		return 2
	default:
		return 3
	}
}

// Worse returns the more serious of s and o.
func (s Severity) Worse(o Severity) Severity {
	if o.rank() > s.rank() {
		return o
	}
	return s
}

// MarshalJSON writes the state name ("OK", "WARNING", ...).
func (s Severity) MarshalJSON() ([]byte, error) {
	if s < OK || s > Unknown {
		return nil, fmt.Errorf("marshal severity: invalid value %d", int(s))
	}
	return json.Marshal(s.String())
}

// UnmarshalJSON reads a state name as written by MarshalJSON.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("severity: %w", err)
	}
	for i, n := range severityNames {
		if n == name {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("severity: unknown state %q", name)
}

// Report is the outcome of one Check; it is written as the JSON state file.
type Report struct {
	Severity    Severity     `json:"severity"`
	Summary     string       `json:"summary"`
	Policy      Policy       `json:"policy"`
	Arrays      []Array      `json:"arrays"`
	Controllers []Controller `json:"controllers"`
	CheckedAt   time.Time    `json:"checked_at"`
	Problems    []string     `json:"problems"`

	problems []problem // graded findings, turned into Problems by grade
}

type problem struct {
	sev  Severity
	text string
}

// Array is one redundant volume: an md array or a controller's logical drive.
type Array struct {
	Source     string `json:"source"`               // md, storcli, ssacli, megacli
	Controller string `json:"controller,omitempty"` // empty for md
	Name       string `json:"name"`
	Level      string `json:"level"`
	State      string `json:"state"`  // as the tool printed it
	Status     Status `json:"status"` // normalised
	// Devices and ActiveDevices are the [n/m] counts of md; zero when unknown.
	Devices       int      `json:"devices,omitempty"`
	ActiveDevices int      `json:"active_devices,omitempty"`
	FailedDisks   []string `json:"failed_disks,omitempty"`
	// Operation is a running background task (recovery, resync, check, ...).
	Operation string   `json:"operation,omitempty"`
	Progress  *float64 `json:"progress_percent,omitempty"`
	// WriteCache is "write-back" or "write-through" for controller volumes.
	WriteCache        string   `json:"write_cache,omitempty"`
	DefaultWriteCache string   `json:"default_write_cache,omitempty"`
	Severity          Severity `json:"severity"`
	Notes             []string `json:"notes,omitempty"`
}

// Status is the normalised condition of an array.
type Status string

// Array conditions, from healthy to broken.
const (
	StatusOptimal    Status = "optimal"
	StatusChecking   Status = "checking" // scrub in progress, redundancy intact
	StatusContainer  Status = "container"
	StatusResyncing  Status = "resyncing"
	StatusRebuilding Status = "rebuilding"
	StatusDegraded   Status = "degraded"
	StatusFailed     Status = "failed"
	StatusInactive   Status = "inactive"
)

// Controller is a hardware RAID controller and its cache backup unit.
type Controller struct {
	Source   string   `json:"source"`
	ID       string   `json:"id"`
	Model    string   `json:"model,omitempty"`
	State    string   `json:"state,omitempty"`
	Cache    string   `json:"cache,omitempty"` // controller cache status, ssacli only
	BBU      *BBU     `json:"bbu"`             // nil: no BBU or CacheVault present
	Severity Severity `json:"severity"`
	Notes    []string `json:"notes,omitempty"`

	findings []problem // drive trouble the parser saw outside any array
}

// BBU is a battery backup unit, CacheVault or capacitor pack.
type BBU struct {
	Kind                string   `json:"kind"` // battery, capacitor, cachevault
	Model               string   `json:"model,omitempty"`
	State               string   `json:"state"` // as the tool printed it
	Status              BBUState `json:"status"`
	ChargePercent       *float64 `json:"charge_percent,omitempty"`
	LearnCycleActive    bool     `json:"learn_cycle_active"`
	ReplacementRequired bool     `json:"replacement_required"`
}

// BBUState is the normalised condition of a cache backup unit.
type BBUState string

// Cache backup unit conditions.
const (
	BBUOptimal  BBUState = "optimal"
	BBULearning BBUState = "learning"
	BBUCharging BBUState = "charging"
	BBUFailed   BBUState = "failed"
)
