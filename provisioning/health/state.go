// Package health grades a counter cluster the way monitoring plugins do:
// every node's facts (gathered by package probe) are checked against the
// inventory's thresholds, each check ends OK, WARNING, CRITICAL or UNKNOWN
// (or SKIPPED when the project does not have what it would check; package
// nagios), and the worst of them is the exit code cron, Nagios or Icinga act on.
//
// The JSON form (Report) is a contract for scripts: field names only ever
// get added, never renamed.
package health

import "counter/provisioning/nagios"

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
	Node    string       `json:"node"`
	Check   string       `json:"check"`
	State   nagios.State `json:"state"`
	Message string       `json:"message"`
	// BlockedBy names the failed check this one could not run without:
	// a check of the same node ("ssh" for everything read over SSH) or
	// NODE/CHECK of another ("master/value"). The text output leaves such
	// results out; their cause is already there.
	BlockedBy string `json:"blocked_by,omitempty"`
	// CappedFrom is the state --warn-only lowered to WARNING.
	CappedFrom *nagios.State `json:"capped_from,omitempty"`
}
