package steps

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"counter/provisioning/anycast"
	"counter/provisioning/dnswatch"
	"counter/provisioning/host"
	"counter/provisioning/phase"
	"counter/provisioning/redisconf"
	"counter/provisioning/sentinel"
)

// The watcher's counts: a node failing /readyz twice a second apart leaves
// its continent's name within about 3 s (a publish is one round trip to
// the DNS server), one failed check never does, and three good ones bring
// it back. A promotion is seen within a second of the sentinel's switch.
var (
	dnsWatchCounts   = anycast.Counts{Rise: 3, Fall: 2}
	dnsWatchInterval = time.Second
)

// DNSWatch installs the DNS watcher on every node: its configuration (the
// inventory's DNS keys, the nodes, the continents' distances), the TSIG
// secret as a root-only file, and the unit that hands it over. Every node
// gets one because any may be promoted; only the master's publishes. The
// firewall filters no outgoing traffic, so the DNS server's port 53/tcp is
// reachable as it is.
type DNSWatch struct{ c *Cluster }

// Title names the step in reports.
func (DNSWatch) Title() string { return "dns watcher" }

// Run brings the watcher's files up to date and keeps it running,
// restarted when any of them changed.
func (s DNSWatch) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	if s.c.TSIGSecret == "" {
		return phase.Result{}, fmt.Errorf("dns watcher on %s: no TSIG secret (dns.tsig)", n.Name)
	}
	paths := redisconf.DebianPaths()
	cert, _, err := readFile(ctx, h, paths.TLSCertFile)
	if err != nil {
		return phase.Result{}, err
	}
	conf, err := s.config(n.Name, cert)
	if err != nil {
		return phase.Result{}, err
	}
	unit, err := dnswatch.ServiceUnit(dnswatch.UnitParams{
		SentinelPasswordFile: sentinel.PasswordFile,
		TLSCertFile:          paths.TLSCertFile, TLSKeyFile: paths.TLSKeyFile, TLSCAFile: paths.TLSCAFile,
		Counts: dnsWatchCounts, Interval: dnsWatchInterval,
	})
	if err != nil {
		return phase.Result{}, err
	}
	key, err := h.EnsureFile(ctx, host.File{Path: dnswatch.TSIGPath, Content: []byte(s.c.TSIGSecret + "\n"), Mode: 0o600, Secret: true})
	if err != nil {
		return phase.Result{}, err
	}
	cc, err := h.EnsureFile(ctx, host.File{Path: dnswatch.ConfigPath, Content: conf, Mode: 0o644})
	if err != nil {
		return phase.Result{}, err
	}
	uc, err := h.EnsureFile(ctx, host.File{Path: "/etc/systemd/system/" + dnswatch.ServiceUnitName, Content: unit, Mode: 0o644})
	if err != nil {
		return phase.Result{}, err
	}
	changes := []*host.Change{key, cc, uc}
	if uc != nil {
		c, err := h.Exec(ctx, "reload systemd units", "systemctl", "daemon-reload")
		if err != nil {
			return phase.Result{}, err
		}
		changes = append(changes, c)
	}
	run, err := ensureRunning(ctx, h, dnswatch.ServiceUnitName, key, cc, uc)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(append(changes, run...)...), nil
}

// config is node self's watcher configuration.
func (s DNSWatch) config(self string, cert []byte) ([]byte, error) {
	inv := s.c.Inv
	me, ok := inv.Node(self)
	if !ok {
		return nil, fmt.Errorf("dns watcher: no node %s", self)
	}
	ma, err := s.c.addr(me)
	if err != nil {
		return nil, err
	}
	c := dnswatch.Config{
		Self: self, Cluster: inv.Cluster, Zone: inv.DNS.Zone, Service: inv.DNS.Service,
		TTLSeconds: int(inv.DNS.TTL / time.Second), Server: inv.DNS.Server,
		TSIGName: inv.DNS.TSIG.Name, TSIGAlg: inv.DNS.TSIG.Algorithm,
		// The node's own sentinel, on its address (Sentinel binds no loopback).
		Sentinel: netip.AddrPortFrom(ma, redisconf.SentinelPort).String(),
		RTT:      s.c.RTT,
	}
	if len(cert) > 0 {
		c.TLSCertSHA256 = fmt.Sprintf("%x", sha256.Sum256(cert))
	}
	if inv.Anycast.Address.IsValid() {
		c.Anycast = inv.Anycast.Address.String()
	}
	for _, n := range inv.Nodes {
		a, err := s.c.addr(n)
		if err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, dnswatch.Node{
			Name: n.Name, Address: strings.TrimSuffix(n.Address, "."), Continent: n.Continent,
			Redis: netip.AddrPortFrom(a, redisconf.DefaultPort).String(),
			// Port 80 is open to everyone and /readyz is never redirected.
			Readyz: "http://" + netip.AddrPortFrom(a, 80).String() + "/readyz",
		})
	}
	return c.Marshal()
}
