package steps

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/secondary"
)

// secondaryWait bounds the wait for a node's first copy of the zone: one
// transfer across the WAN, a few round trips.
var secondaryWait = 30 * time.Second

// DNSSecondary runs Knot on a node as a secondary of the cluster's zone
// (dns.secondary): the configuration, the TSIG key it transfers with (a
// file of its own, 0640 root:knot, never shown in diffs), a check by
// knotc before a changed file is loaded (by a restart), and a wait until the node serves
// the zone after any change, so a primary that refuses the transfer fails
// the step here rather than leaving a node that answers SERVFAIL.
type DNSSecondary struct{ c *Cluster }

// Title names the step in reports.
func (DNSSecondary) Title() string { return "dns secondary (knot)" }

// ShouldRun: only with dns.secondary.
func (s DNSSecondary) ShouldRun(context.Context, host.Host) (bool, error) {
	return s.c.Inv.DNS.Secondary, nil
}

// Run brings Knot, its files and the zone's copy up to date.
func (s DNSSecondary) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	if !s.c.Inv.DNS.Secondary {
		return phase.Result{}, nil // ShouldRun says no
	}
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	cfg, err := s.config(n)
	if err != nil {
		return phase.Result{}, err
	}
	conf, err := secondary.Render(cfg)
	if err != nil {
		return phase.Result{}, err
	}
	key, err := secondary.Key(cfg, s.c.TSIGSecret)
	if err != nil {
		return phase.Result{}, err
	}
	pkg, err := h.EnsurePackages(ctx, secondary.Package)
	if err != nil {
		return phase.Result{}, err
	}
	kc, err := h.EnsureFile(ctx, host.File{Path: secondary.KeyPath, Content: key, Mode: 0o640, Group: "knot", Secret: true})
	if err != nil {
		return phase.Result{}, err
	}
	cc, err := h.EnsureFile(ctx, host.File{Path: secondary.ConfPath, Content: conf, Mode: 0o640, Group: "knot"})
	if err != nil {
		return phase.Result{}, err
	}
	if (kc != nil || cc != nil) && !h.DryRun() {
		if _, err := h.Query(ctx, "knotc", "-c", secondary.ConfPath, "conf-check"); err != nil {
			return phase.Result{}, fmt.Errorf("knotc refuses %s, not loading it: %w", secondary.ConfPath, err)
		}
	}
	changes := []*host.Change{pkg, kc, cc}
	// Restarted, not reloaded, when a file changed: Knot takes new listen
	// addresses only at start, and Debian's package starts it with its
	// own configuration, which listens nowhere. A reload there left the
	// lab's continental nodes serving the zone on no address at all. A
	// restart loads the zone from the journal in milliseconds.
	run, err := ensureRunning(ctx, h, secondary.Unit, kc, cc)
	if err != nil {
		return phase.Result{}, err
	}
	changes = append(changes, run...)
	res := phase.Collect(changes...)
	// After a change only: a run that finds everything as wanted stays a
	// no-op, and `counterctl health` is what watches a running node.
	if res.Status == phase.Changed && !h.DryRun() {
		if err := s.waitZone(ctx, h); err != nil {
			return phase.Result{}, err
		}
	}
	return res, nil
}

// config is node n's secondary: it answers on its own address and, with
// anycast, on the anycast address.
func (s DNSSecondary) config(n inventory.Node) (secondary.Config, error) {
	d := s.c.Inv.DNS
	primary, err := netip.ParseAddrPort(d.Server)
	if err != nil {
		return secondary.Config{}, fmt.Errorf("dns.secondary: dns.server %q is not an IP address and port: %w", d.Server, err)
	}
	me, err := s.c.addr(n)
	if err != nil {
		return secondary.Config{}, err
	}
	listen := []netip.AddrPort{netip.AddrPortFrom(me, 53)}
	if a := s.c.Inv.Anycast.Address; a.IsValid() {
		listen = append(listen, netip.AddrPortFrom(a, 53))
	}
	return secondary.Config{
		Zone: d.Zone, Primary: primary, KeyName: d.TSIG.Name, Algorithm: d.TSIG.Algorithm,
		KeyFile: secondary.KeyPath, Syslog: true, Listen: listen,
	}, nil
}

// waitZone waits until the node's Knot serves the zone: its SOA is in
// memory, which it is only after a transfer from the primary.
func (s DNSSecondary) waitZone(ctx context.Context, h host.Host) error {
	// The zone is a validated name (inventory), never an option: knotc
	// takes no "--".
	zone := s.c.Inv.DNS.Zone
	err := s.c.wait(ctx, secondaryWait, func(ctx context.Context) (bool, string, error) {
		out, err := h.Query(ctx, "knotc", "zone-read", zone, "@", "SOA")
		if err != nil {
			return false, "", err
		}
		if !strings.Contains(string(out), " SOA ") {
			return false, "no SOA yet: " + firstLine(out), nil
		}
		return true, "", nil
	})
	if err != nil {
		return fmt.Errorf("%s's Knot has no copy of %s from %s: %w (the primary must allow transfers signed with %s: docs/dns.md; journalctl -u knot says more)",
			h.Name(), zone, s.c.Inv.DNS.Server, err, s.c.Inv.DNS.TSIG.Name)
	}
	return nil
}
