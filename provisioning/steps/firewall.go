package steps

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/netip"

	"counter/provisioning/firewall"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
)

// Firewall applies the node's nftables ruleset with firewall.ApplyPlan:
// checked with nft -c, loaded with a dead-man rollback armed, and
// confirmed only over a NEW SSH connection, which proves the new rules
// still let the operator (or, for a replica, the master) in.
type Firewall struct{ c *Cluster }

// Title names the step in reports.
func (Firewall) Title() string { return "firewall" }

// Run applies the ruleset if the node does not hold and run it already.
func (s Firewall) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, want, err := s.render(h)
	if err != nil {
		return phase.Result{}, err
	}
	live, _, err := readFile(ctx, h, firewall.LivePath)
	if err != nil {
		return phase.Result{}, err
	}
	var changes []*host.Change
	if !bytes.Equal(live, want) || !s.loaded(ctx, h) {
		c, err := s.apply(ctx, h, n, want)
		if err != nil {
			return phase.Result{}, err
		}
		changes = append(changes, c)
	}
	inc, err := s.ensureInclude(ctx, h)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(append(changes, inc)...), nil
}

// DryRun shows the ruleset's diff against the live file; nothing is staged.
func (s Firewall) DryRun(ctx context.Context, h host.Host) (phase.Result, error) {
	_, want, err := s.render(h)
	if err != nil {
		return phase.Result{}, err
	}
	c, err := h.EnsureFile(ctx, host.File{Path: firewall.LivePath, Content: want, Mode: 0o644})
	if err != nil {
		return phase.Result{}, err
	}
	if c == nil && !s.loaded(ctx, h) {
		c = &host.Change{What: "load " + firewall.LivePath + " (the table is not loaded)"}
	}
	inc, err := s.ensureInclude(ctx, h)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(c, inc), nil
}

func (s Firewall) render(h host.Host) (inventory.Node, []byte, error) {
	n, err := s.c.node(h)
	if err != nil {
		return n, nil, err
	}
	p := firewall.Params{Role: firewall.Role(n.Role), AdminNetworks: s.c.Inv.AdminNetworks, BGPPeers: BGPPeers(n), DNS: s.c.Inv.DNS.Secondary}
	for _, m := range s.c.Inv.Nodes {
		a, err := s.c.addr(m)
		if err != nil {
			return n, nil, err
		}
		p.Nodes = append(p.Nodes, a)
		switch m.Role {
		case inventory.RoleMaster:
			p.Master = []netip.Addr{a}
		case inventory.RoleMirror:
			p.Mirror = []netip.Addr{a}
		}
	}
	b, err := firewall.Render(p)
	return n, b, err
}

// loaded reports whether our table is in the kernel (its counter lists).
func (Firewall) loaded(ctx context.Context, h host.Host) bool {
	_, err := h.Query(ctx, firewall.StatusArgv()...)
	return err == nil
}

func (s Firewall) apply(ctx context.Context, h host.Host, n inventory.Node, rules []byte) (*host.Change, error) {
	plan := firewall.ApplyPlan(firewall.Layout{})
	if err := run(ctx, h, plan.Prepare); err != nil {
		return nil, err
	}
	if _, err := h.EnsureFile(ctx, host.File{Path: plan.Staged, Content: rules, Mode: 0o600}); err != nil {
		return nil, err
	}
	if err := run(ctx, h, plan.Apply); err != nil {
		return nil, err
	}
	fresh, conn, err := s.c.Redial(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("a new SSH connection after loading the firewall failed, so it is not confirmed and rolls back within %s: %w",
			firewall.RollbackAfter, err)
	}
	defer conn.Close()
	if _, err := fresh.Exec(ctx, plan.Confirm[0].What, plan.Confirm[0].Argv...); err != nil {
		return nil, fmt.Errorf("firewall rolled back before it could be confirmed: %w", err)
	}
	if err := run(ctx, fresh, plan.Confirm[1:]); err != nil {
		return nil, err
	}
	return &host.Change{What: "apply firewall " + firewall.LivePath + " (confirmed over a new SSH connection)"}, nil
}

// ensureInclude makes Debian's nftables.conf load our file at boot.
func (Firewall) ensureInclude(ctx context.Context, h host.Host) (*host.Change, error) {
	conf, _, err := readFile(ctx, h, firewall.ConfPath)
	if err != nil {
		return nil, err
	}
	want, _ := firewall.EnsureInclude(conf)
	// Debian ships it executable (#!/usr/sbin/nft -f); keep that.
	return h.EnsureFile(ctx, host.File{Path: firewall.ConfPath, Content: want, Mode: fs.FileMode(0o755)})
}

// run executes commands in order, stopping at the first failure that is
// not allowed to fail.
func run(ctx context.Context, h host.Host, cmds []firewall.Command) error {
	for _, c := range cmds {
		if _, err := h.Exec(ctx, c.What, c.Argv...); err != nil && !c.MayFail {
			return err
		}
	}
	return nil
}
