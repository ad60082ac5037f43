//go:build !node

package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"counter/ctl/lab"
	"counter/provisioning/dnswatch"
	"counter/provisioning/inventory"
	"counter/provisioning/pki"
	"counter/provisioning/steps"
)

// cluster gathers what every node's steps share: addresses, passwords,
// the CA and the package source.
func (o *provisionOptions) cluster(ctx context.Context, inv *inventory.Inventory, stdout, stderr io.Writer) (*steps.Cluster, error) {
	addrs, err := resolveNodes(ctx, inv)
	if err != nil {
		return nil, err
	}
	counterd, err := inv.Secret("redis_counterd_password")
	if err != nil {
		return nil, err
	}
	replication, err := inv.Secret("redis_replication_password")
	if err != nil {
		return nil, err
	}
	var sentinel [3][]byte
	for i, name := range []string{"redis_sentinel_password", "sentinel_peer_password", "sentinel_counterctl_password"} {
		if sentinel[i], err = inv.Secret(name); err != nil {
			return nil, err
		}
	}
	// Every node's DNS watcher signs with it (and only the master's uses it).
	tsig, err := inv.TSIGSecret()
	if err != nil {
		return nil, err
	}
	rtt, err := watcherRTT()
	if err != nil {
		return nil, err
	}
	ca, err := o.loadCA(inv, stderr)
	if err != nil {
		return nil, err
	}
	debs, err := o.debs.source(stdout, o.now)
	if err != nil {
		return nil, err
	}
	return &steps.Cluster{
		Inv: inv, Addrs: addrs, CA: ca,
		CounterdPassword: string(counterd), ReplicationPassword: string(replication),
		SentinelPassword: string(sentinel[0]), SentinelPeerPassword: string(sentinel[1]),
		SentinelAdminPassword: string(sentinel[2]),
		TSIGSecret:            string(tsig), RTT: rtt,
		Packages: debs, Now: o.now,
	}, nil
}

// watcherRTT is the continents' matrix (the one dns publish uses) for the
// nodes' DNS watchers, which do not carry the lab.
func watcherRTT() ([]dnswatch.RTT, error) {
	m, err := lab.DefaultRTT()
	if err != nil {
		return nil, err
	}
	var out []dnswatch.RTT
	cs := m.Continents()
	for i, a := range cs {
		for _, b := range cs[i+1:] {
			if d, ok := m.Between(a, b); ok {
				out = append(out, dnswatch.RTT{A: a, B: b, Ms: float64(d) / float64(time.Millisecond)})
			}
		}
	}
	return out, nil
}

// loadCA loads the cluster CA from pki_dir, creating it on a first run;
// a dry run never writes it and works with a throwaway one instead.
func (o *provisionOptions) loadCA(inv *inventory.Inventory, stderr io.Writer) (*pki.CA, error) {
	dir := inv.PKIDir
	if o.dryRun {
		if _, err := os.Stat(filepath.Join(dir, pki.CertFile)); errors.Is(err, os.ErrNotExist) {
			tmp, err := os.MkdirTemp("", "ctr-dry-ca-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(tmp)
			fmt.Fprintf(stderr, "dry run: no cluster CA in %s yet; a real run creates it\n", dir)
			dir = tmp
		}
	}
	ca, created, err := pki.LoadOrCreateCA(dir, inv.Cluster, o.now())
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	if created && !o.dryRun {
		fmt.Fprintf(stderr, "created the cluster CA in %s (keep %s secret and backed up)\n", dir, pki.KeyFile)
	}
	return ca, nil
}

// resolveNodes gives every node an IP address: the firewall and Redis's
// bind need addresses, and the inventory may name hosts.
func resolveNodes(ctx context.Context, inv *inventory.Inventory) (map[string]netip.Addr, error) {
	out := map[string]netip.Addr{}
	for _, n := range inv.Nodes {
		if a, err := netip.ParseAddr(n.Address); err == nil {
			out[n.Name] = a.Unmap()
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		as, err := net.DefaultResolver.LookupNetIP(rctx, "ip", n.Address)
		cancel()
		if err != nil || len(as) == 0 {
			return nil, fmt.Errorf("node %s: resolve %s: %w", n.Name, n.Address, err)
		}
		out[n.Name] = as[0].Unmap()
	}
	return out, nil
}
