// Package raid checks a node's RAID arrays and battery-backed write caches.
//
// The original design asks for RAID 10 behind a battery-backed (BBU) controller
// on every node. Check reads Linux software RAID (/proc/mdstat, mdadm --detail)
// and, when their command-line tools are installed, Broadcom/LSI (storcli,
// MegaCli) and HPE Smart Array (ssacli) controllers, and grades what it finds
// with the plugin states of package nagios, as `counterctl health` does.
package raid

import (
	"time"

	"counter/provisioning/nagios"
)

// Report is the outcome of one Check; it is written as the JSON state file.
type Report struct {
	Severity    nagios.State `json:"severity"`
	Summary     string       `json:"summary"`
	Policy      Policy       `json:"policy"`
	Arrays      []Array      `json:"arrays"`
	Controllers []Controller `json:"controllers"`
	CheckedAt   time.Time    `json:"checked_at"`
	Problems    []string     `json:"problems"`

	problems []problem // graded findings, turned into Problems by grade
}

type problem struct {
	sev  nagios.State
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
	WriteCache        string       `json:"write_cache,omitempty"`
	DefaultWriteCache string       `json:"default_write_cache,omitempty"`
	Severity          nagios.State `json:"severity"`
	Notes             []string     `json:"notes,omitempty"`
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
	Source   string       `json:"source"`
	ID       string       `json:"id"`
	Model    string       `json:"model,omitempty"`
	State    string       `json:"state,omitempty"`
	Cache    string       `json:"cache,omitempty"` // controller cache status, ssacli only
	BBU      *BBU         `json:"bbu"`             // nil: no BBU or CacheVault present
	Severity nagios.State `json:"severity"`
	Notes    []string     `json:"notes,omitempty"`

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
