package steps

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"counter/provisioning/anycast"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
)

const (
	birdUnit = "bird.service"
	// birdPackage is Debian's BIRD 2.
	birdPackage = "bird2"
)

// The announcer's counts: a node that fails /readyz 3 times a second apart
// is withdrawn within about 3 s (the issue asks 10 s), one failed check
// never withdraws it, and it returns after 3 good ones.
var (
	anycastCounts   = anycast.Counts{Rise: 3, Fall: 3}
	anycastInterval = time.Second
)

// Anycast installs BIRD 2 on a node the inventory gives `bgp:`, renders its
// bird.conf (the anycast /32 in a static protocol that starts disabled,
// BGP to the node's routers) and runs the announcer, which puts the /32 on
// lo and enables the protocol while counterd is ready. A changed bird.conf
// is checked with `bird -p` and loaded with `birdc configure` (systemctl
// reload), which keeps unchanged BGP sessions up.
type Anycast struct{ c *Cluster }

// Title names the step in reports.
func (Anycast) Title() string { return "anycast (bird)" }

// ShouldRun: only nodes with `bgp:` (which the inventory allows only with
// anycast.address).
func (s Anycast) ShouldRun(_ context.Context, h host.Host) (bool, error) {
	n, err := s.c.node(h)
	if err != nil {
		return false, err
	}
	return n.BGP != nil && s.c.Inv.Anycast.Address.IsValid(), nil
}

// Run brings BIRD, its config and the announcer up to date.
func (s Anycast) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	if n.BGP == nil || !s.c.Inv.Anycast.Address.IsValid() {
		return phase.Result{}, nil // ShouldRun says no; nothing to do
	}
	conf, unit, err := s.render(n)
	if err != nil {
		return phase.Result{}, err
	}
	pkg, err := h.EnsurePackages(ctx, birdPackage)
	if err != nil {
		return phase.Result{}, err
	}
	_, wasActive, err := unitState(ctx, h, birdUnit)
	if err != nil {
		return phase.Result{}, err
	}
	cc, err := h.EnsureFile(ctx, host.File{Path: anycast.BirdConfPath, Content: conf, Mode: 0o640, Owner: "bird", Group: "bird"})
	if err != nil {
		return phase.Result{}, err
	}
	if cc != nil && !h.DryRun() {
		if _, err := h.Query(ctx, "bird", "-p", "-c", anycast.BirdConfPath); err != nil {
			return phase.Result{}, fmt.Errorf("bird refuses %s, not loading it: %w", anycast.BirdConfPath, err)
		}
	}
	changes := []*host.Change{pkg, cc}
	run, err := ensureRunning(ctx, h, birdUnit)
	if err != nil {
		return phase.Result{}, err
	}
	changes = append(changes, run...)
	// A BIRD that was running reads the new file on reload; one just
	// started has read it already. The reload restarts protocol anycast
	// (disabled in the file): the announcer enables it again within a second.
	if wasActive && cc != nil {
		c, err := h.Exec(ctx, "reload bird (birdc configure)", "systemctl", "reload", "--", birdUnit)
		if err != nil {
			return phase.Result{}, err
		}
		changes = append(changes, c)
	}
	uc, err := h.EnsureFile(ctx, host.File{Path: "/etc/systemd/system/" + anycast.ServiceUnitName, Content: unit, Mode: 0o644})
	if err != nil {
		return phase.Result{}, err
	}
	changes = append(changes, uc)
	if uc != nil {
		c, err := h.Exec(ctx, "reload systemd units", "systemctl", "daemon-reload")
		if err != nil {
			return phase.Result{}, err
		}
		changes = append(changes, c)
	}
	run, err = ensureRunning(ctx, h, anycast.ServiceUnitName, uc)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(append(changes, run...)...), nil
}

// render is the node's bird.conf and announcer unit.
func (s Anycast) render(n inventory.Node) (conf, unit []byte, err error) {
	me, err := s.c.addr(n)
	if err != nil {
		return nil, nil, err
	}
	p := anycast.BirdParams{RouterID: me, ASN: n.BGP.ASN, Address: s.c.Inv.Anycast.Address}
	for _, peer := range n.BGP.Peers {
		p.Peers = append(p.Peers, anycast.Peer{Address: peer.Address, ASN: peer.ASN, BFD: peer.BFD})
	}
	if conf, err = anycast.RenderBirdConf(p); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	// The guard asks the other announcing nodes' counterd, on port 80
	// (open to everyone; /readyz is never redirected).
	var peers []string
	for _, m := range s.c.Inv.Nodes {
		if m.Name == n.Name || m.BGP == nil {
			continue
		}
		a, err := s.c.addr(m)
		if err != nil {
			return nil, nil, err
		}
		peers = append(peers, "http://"+netip.AddrPortFrom(a, 80).String()+"/readyz")
	}
	unit, err = anycast.ServiceUnit(anycast.UnitParams{
		Address: s.c.Inv.Anycast.Address, Readyz: "http://127.0.0.1/readyz", Peers: peers,
		Counts: anycastCounts, Interval: anycastInterval,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	return conf, unit, nil
}

// BGPPeers are the addresses the firewall opens BGP and BFD to on n.
func BGPPeers(n inventory.Node) []netip.Addr {
	if n.BGP == nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(n.BGP.Peers))
	for _, p := range n.BGP.Peers {
		out = append(out, p.Address)
	}
	return out
}
