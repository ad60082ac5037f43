//go:build !node

package ctl

import (
	"context"
	"sync"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/sshx"
)

// dialNodes connects to nodes, at most parallel handshakes at a time (the
// replicas share the master's connection, which conn dials once). Failed
// nodes have an error instead. The clients belong to conn, which closes them.
func dialNodes(ctx context.Context, conn *host.Connector, nodes []inventory.Node, parallel int) ([]*sshx.Client, []error) {
	clients := make([]*sshx.Client, len(nodes))
	errs := make([]error, len(nodes))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, n := range nodes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			clients[i], errs[i] = conn.Client(ctx, n)
		})
	}
	wg.Wait()
	return clients, errs
}
