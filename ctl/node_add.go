//go:build !node

package ctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/probe"
)

type nodeAddOptions struct {
	provisionOptions
	name    string
	maxLag  int64
	timeout time.Duration
}

func newNodeAddCmd() *cobra.Command {
	o := &nodeAddOptions{provisionOptions: provisionOptions{getenv: os.Getenv, now: time.Now}}
	cmd := &cobra.Command{
		Use:   "add NAME -i FILE",
		Short: "Provision a node newly written into the inventory, wait until it is in sync, say when it can be published",
		Long: `For a node already written under nodes: in the inventory (as a mirror or
a replica). Runs provision on every node, with every step on NAME and only
the steps that list or count the cluster's nodes on the others (the
firewall, whose rules admit the cluster's addresses, and sentinel, whose
quorum is a majority of the nodes). Then polls NAME's Redis until it is a
replica of the live master with its link up and at most --max-lag bytes
behind, and says that it is ready to be published (DNS, anycast). Exit
status non-zero if provisioning failed or NAME did not get in sync within
--timeout.`,
		Example: `  counterctl node add oceania -i inventory.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file` that already lists NAME")
	f.IntVar(&o.parallel, "parallel", 10, "how many nodes to connect to, and to provision, at once")
	f.BoolVar(&o.acceptNew, "accept-new-host-keys", false, "record host keys of nodes missing from known_hosts (a changed key is always refused)")
	f.Int64Var(&o.maxLag, "max-lag", 1<<20, "in sync: at most this many `bytes` behind the master")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long to wait for the node to get in sync")
	o.debs.flags(cmd)
	_ = cmd.MarkFlagRequired("inventory")
	return cmd
}

func (o *nodeAddOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	inv, err := inventory.Load(o.inventory)
	if err != nil {
		return err
	}
	n, ok := inv.Node(o.name)
	if !ok {
		return fmt.Errorf("%s is not in %s: write it under nodes: first", o.name, o.inventory)
	}
	if n.Role == inventory.RoleMaster {
		return fmt.Errorf("%s has role: master: a node joins a running cluster as a mirror or a replica", o.name)
	}
	o.only = onlyOn(o.name, countingNodes...)
	if err := o.provisionOptions.run(ctx, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwaiting until %s is in sync (up to %s)\n", o.name, o.timeout)
	if err := o.waitInSync(ctx, inv, stdout); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	fmt.Fprintf(stdout, "%s is in sync: ready to be published\n", o.name)
	return nil
}

// countingNodes are the steps whose output on a node lists or counts the
// cluster's nodes: the firewall admits their addresses; sentinel.conf has
// the quorum (a majority of the data nodes) and parallel-syncs (all
// replicas but one). Adding or removing a node runs them on the others;
// the sentinel step rewrites sentinel.conf, and restarts Sentinel, only
// where they changed.
var countingNodes = []string{"firewall", "sentinel"}

// onlyOn runs every step on node and only the named steps elsewhere.
func onlyOn(node string, steps ...string) func(phase.Step, host.Host) bool {
	return func(s phase.Step, h host.Host) bool {
		if h.Name() == node {
			return true
		}
		for _, t := range steps {
			if s.Title() == t {
				return true
			}
		}
		return false
	}
}

// waitInSync probes the cluster every 2 s, as status does, until the node
// follows the live master closely enough.
func (o *nodeAddOptions) waitInSync(ctx context.Context, inv *inventory.Inventory, stdout io.Writer) error {
	conn := host.NewConnector(inv, host.ConnectOptions{AgentSocket: o.getenv("SSH_AUTH_SOCK")})
	defer conn.Close()
	pr := probe.New(conn, probe.Defaults(), o.now)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	last := ""
	for {
		nodes := inv.Ordered()
		ss := make([]nodeStatus, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Go(func() { ss[i] = fromFacts(pr.Probe(ctx, n)) })
		}
		wg.Wait()
		err := func() error {
			d, err := decideFromStatus(ctx, inv, ss)
			if err != nil {
				return err
			}
			lagBytes(ss, d.Master.Name)
			return inSync(ss, o.name, d.Master.Name, o.maxLag)
		}()
		if err == nil {
			return nil
		}
		if msg := err.Error(); msg != last {
			fmt.Fprintf(stdout, "  %s\n", msg)
			last = msg
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not in sync after %s: %w", o.name, o.timeout, err)
		case <-t.C:
		}
	}
}

// inSync says why the node is not yet a caught-up replica of master, or nil.
func inSync(ss []nodeStatus, name, master string, maxLag int64) error {
	for _, s := range ss {
		if s.Node != name {
			continue
		}
		switch {
		case !s.Reachable:
			return fmt.Errorf("%s: unreachable: %s", name, s.Error)
		case s.RedisRole != "replica":
			return fmt.Errorf("%s: Redis is %q, not yet a replica of %s", name, s.RedisRole, master)
		case s.Link != "up":
			return fmt.Errorf("%s: replication link to %s is %s", name, master, s.Link)
		case s.LagBytes == nil:
			return fmt.Errorf("%s: lag behind %s unknown", name, master)
		case *s.LagBytes > maxLag:
			return fmt.Errorf("%s: %d bytes behind %s", name, *s.LagBytes, master)
		}
		return nil
	}
	return fmt.Errorf("%s: not probed", name)
}
