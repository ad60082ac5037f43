package steps

import (
	"context"
	"fmt"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/sshd"
)

// SSHD installs the key-only drop-in, checks the whole configuration with
// sshd -t before reloading (putting the old drop-in back if it fails), and
// proves with sshd -T that sshd uses the drop-in's values.
type SSHD struct{ c *Cluster }

// Title names the step in reports.
func (SSHD) Title() string { return "sshd" }

// Run installs and validates the drop-in.
func (s SSHD) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	p := sshd.Params{JumpHost: n.Role != inventory.RoleReplica}
	old, existed, err := readFile(ctx, h, sshd.DropInPath)
	if err != nil {
		return phase.Result{}, err
	}
	c, err := h.EnsureFile(ctx, host.File{Path: sshd.DropInPath, Content: sshd.Render(p), Mode: sshd.DropInMode})
	if err != nil {
		return phase.Result{}, err
	}
	if h.DryRun() {
		return phase.Collect(c), nil
	}
	var reload *host.Change
	if c != nil {
		if _, err := h.Query(ctx, sshd.ValidateArgv()...); err != nil {
			return phase.Result{}, fmt.Errorf("sshd -t refused the configuration, %s: %w", s.restore(ctx, h, old, existed), err)
		}
		if reload, err = h.Exec(ctx, "reload sshd", sshd.ReloadArgv()...); err != nil {
			return phase.Result{}, err
		}
	}
	out, err := h.Query(ctx, sshd.EffectiveArgv()...)
	if err != nil {
		return phase.Result{}, fmt.Errorf("sshd -T: %w", err)
	}
	if err := sshd.CheckEffective(out, p); err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(c, reload), nil
}

// restore puts the previous drop-in back, so a later restart of sshd never
// meets a configuration it refuses, and says what it did.
func (SSHD) restore(ctx context.Context, h host.Host, old []byte, existed bool) string {
	if existed {
		if _, err := h.EnsureFile(ctx, host.File{Path: sshd.DropInPath, Content: old, Mode: sshd.DropInMode}); err != nil {
			return "and restoring the previous drop-in failed: " + err.Error()
		}
		return "so the previous drop-in is back"
	}
	if _, err := h.Exec(ctx, "remove "+sshd.DropInPath, "rm", "-f", "--", sshd.DropInPath); err != nil {
		return "and removing the new drop-in failed: " + err.Error()
	}
	return "so the new drop-in is removed"
}
