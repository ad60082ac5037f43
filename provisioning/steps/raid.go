package steps

import (
	"context"
	"fmt"
	"strings"

	"counter/provisioning/host"
	"counter/provisioning/phase"
	"counter/provisioning/raid"
)

// DataDir holds the node's state files (the RAID check's report).
const DataDir = "/var/lib/counter"

// RAID installs the RAID/BBU check's service with the inventory's policy
// (overriding the package's `optional`) and keeps its timer running; with
// policy none the timer is stopped and disabled.
type RAID struct{ c *Cluster }

// Title names the step in reports.
func (RAID) Title() string { return "raid check" }

// Run brings the unit, its timer and the data directory up to date.
func (s RAID) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	dir, err := ensureDir(ctx, h, DataDir, 0o755, "root", "root")
	if err != nil {
		return phase.Result{}, err
	}
	// node_exporter's textfile directory exists only with prometheus-node-exporter
	// installed; the check writes its metrics there either way (exit 4 otherwise).
	tdir, err := ensureDir(ctx, h, raid.DefaultTextfileDir, 0o755, "root", "root")
	if err != nil {
		return phase.Result{}, err
	}
	policy, err := raid.ParsePolicy(string(s.c.Inv.RAID))
	if err != nil {
		return phase.Result{}, fmt.Errorf("inventory raid: %w", err)
	}
	if policy == raid.PolicyNone {
		enabled, active, err := unitState(ctx, h, raid.TimerUnitName)
		if err != nil || (!enabled && !active) {
			return phase.Collect(dir, tdir), err
		}
		c, err := h.Exec(ctx, "disable "+raid.TimerUnitName+" (raid: none)", "systemctl", "disable", "--now", "--quiet", "--", raid.TimerUnitName)
		return phase.Collect(dir, tdir, c), err
	}
	unit, err := raid.ServiceUnitFor(policy)
	if err != nil {
		return phase.Result{}, err
	}
	// /etc/systemd/system wins over the package's /lib/systemd/system copy.
	uc, err := h.EnsureFile(ctx, host.File{Path: "/etc/systemd/system/" + raid.ServiceUnitName, Content: []byte(unit), Mode: 0o644})
	if err != nil {
		return phase.Result{}, err
	}
	var reload *host.Change
	if uc != nil {
		if reload, err = h.Exec(ctx, "reload systemd units", "systemctl", "daemon-reload"); err != nil {
			return phase.Result{}, err
		}
	}
	// The timer starts the service; nothing to restart when the unit changes.
	run, err := ensureRunning(ctx, h, raid.TimerUnitName)
	if err != nil {
		return phase.Result{}, err
	}
	// The timer's first run may be minutes away; `counterctl health` reads the
	// report, so make one now when there is none or the policy just changed.
	now, err := s.checkNow(ctx, h, uc != nil)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(append([]*host.Change{dir, tdir, uc, reload, now}, run...)...), nil
}

// checkNow runs the check once (a oneshot: start waits for it) unless its
// report exists and the unit is unchanged.
func (RAID) checkNow(ctx context.Context, h host.Host, unitChanged bool) (*host.Change, error) {
	out, err := h.Query(ctx, statArgv(raid.DefaultStatePath)...)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", raid.DefaultStatePath, err)
	}
	if !unitChanged && strings.TrimSpace(string(out)) != "" {
		return nil, nil
	}
	return h.Exec(ctx, "run the raid check once (write "+raid.DefaultStatePath+")",
		"systemctl", "start", "--", raid.ServiceUnitName)
}
