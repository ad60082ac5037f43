//go:build !node

package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"counter/internal/redisinfo"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
	"counter/provisioning/sentinel"
	"counter/provisioning/steps"
)

// liveMasterTimeout bounds one node's INFO replication over its SSH link.
const liveMasterTimeout = 15 * time.Second

// decideMaster asks the connected nodes' sentinels, then the nodes, who is
// master now (livemaster.DecideWithSentinels) and sets it on
// cluster, so a run after a failover keeps the new master a master
// instead of turning the inventory's role: master back into one. The
// waves are reordered so the live master goes first.
func decideMaster(ctx context.Context, cluster *steps.Cluster, waves [][]host.Host, stdout io.Writer) ([][]host.Host, error) {
	hosts := map[string]host.Host{}
	for _, w := range waves {
		for _, h := range w {
			hosts[h.Name()] = h
		}
	}
	q := func(ctx context.Context, n inventory.Node) (redisinfo.Fields, error) {
		h, ok := hosts[n.Name]
		if !ok {
			return nil, errors.New("not connected")
		}
		ctx, cancel := context.WithTimeout(ctx, liveMasterTimeout)
		defer cancel()
		return steps.ReplicationInfo(ctx, h)
	}
	// The sentinels' majority first: after a failover they know the new
	// master before anyone has looked at the nodes.
	sentinels := livemaster.Sentinels{Ask: func(ctx context.Context, name string) (string, error) {
		h, ok := hosts[name]
		if !ok {
			return "", errors.New("not connected")
		}
		ctx, cancel := context.WithTimeout(ctx, liveMasterTimeout)
		defer cancel()
		c := sentinel.Client{Where: sentinel.Provisioned(), Run: func(ctx context.Context, argv []string) ([]byte, error) {
			return h.Query(ctx, argv...)
		}}
		return c.MasterAddr(ctx, cluster.Inv.Cluster)
	}}
	for _, n := range cluster.Inv.Nodes {
		sentinels.Addrs = append(sentinels.Addrs, n.Name)
	}
	d, err := livemaster.DecideWithSentinels(ctx, sentinels, cluster.LiveNodes(), cluster.Inv.Master(), q)
	if err != nil {
		return nil, fmt.Errorf("who is master now: %w (fix the replication by hand, then run again)", err)
	}
	cluster.Master = d.Master.Name
	fmt.Fprintf(stdout, "master: %s, from the %s (%s)\n", d.Master.Name, d.Source, d.Why)
	return liveWaves(waves, d.Master.Name, cluster.Inv), nil
}

// liveWaves puts the live master alone in the first wave and the
// inventory's master, if it is no longer the master, with the mirror.
func liveWaves(waves [][]host.Host, master string, inv *inventory.Inventory) [][]host.Host {
	out := make([][]host.Host, 3)
	for _, w := range waves {
		for _, h := range w {
			n, _ := inv.Node(h.Name())
			switch {
			case h.Name() == master:
				out[0] = append(out[0], h)
			case n.Role == inventory.RoleMaster || n.Role == inventory.RoleMirror:
				out[1] = append(out[1], h)
			default:
				out[2] = append(out[2], h)
			}
		}
	}
	return out
}
