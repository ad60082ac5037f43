package steps

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"counter/provisioning/host"
	"counter/provisioning/phase"
	"counter/provisioning/secondary"
)

// BasePackages are the Debian packages every node needs: Redis, its
// Sentinel and its CLI (the replication wait and `counterctl status` use
// it), nftables for the firewall, and CA certificates for the TLS the
// nodes speak.
var BasePackages = []string{"redis-server", "redis-sentinel", "redis-tools", "nftables", "ca-certificates"}

// System checks that the node runs Debian 12 and installs the packages
// of every later step (BIRD too, on a node that announces the anycast
// address) in one apt run, while the nodes are still quiet: a later step's
// own apt run came when Sentinel's chatter loaded the cluster, and on a
// 2-core machine the anycast step's took minutes a node.
type System struct{ c *Cluster }

// packages are the node's Debian packages.
func (s System) packages(h host.Host) ([]string, error) {
	n, err := s.c.node(h)
	if err != nil {
		return nil, err
	}
	pk := slices.Clone(BasePackages)
	if n.BGP != nil && s.c.Inv.Anycast.Address.IsValid() {
		pk = append(pk, birdPackage)
	}
	// Knot too, in the same apt run: on its own, the secondary's step
	// took 1m50s on the lab's far nodes, most of it apt-get update.
	if s.c.Inv.DNS.Secondary {
		pk = append(pk, secondary.Package)
	}
	return pk, nil
}

// Title names the step in reports.
func (System) Title() string { return "debian 12 and packages" }

// HostLocal: the packages come from the node's own mirror, so every node
// installs them at once, the replicas without waiting for the master.
func (System) HostLocal() {}

// Run refuses anything but Debian 12, then installs what is missing.
func (s System) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	out, err := h.Query(ctx, "cat", "/etc/os-release")
	if err != nil {
		return phase.Result{}, fmt.Errorf("read /etc/os-release: %w", err)
	}
	osr := parseOSRelease(out)
	if osr["ID"] != "debian" || osr["VERSION_ID"] != "12" {
		name := osr["PRETTY_NAME"]
		if name == "" {
			name = strings.TrimSpace(osr["ID"] + " " + osr["VERSION_ID"])
		}
		return phase.Result{}, fmt.Errorf("%s runs %q; counterctl provisions Debian 12 (bookworm) only", h.Name(), name)
	}
	pk, err := s.packages(h)
	if err != nil {
		return phase.Result{}, err
	}
	c, err := h.EnsurePackages(ctx, pk...)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(c), nil
}

// parseOSRelease reads os-release(5): KEY=value lines, values maybe quoted.
func parseOSRelease(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		m[k] = strings.Trim(v, `"'`)
	}
	return m
}
