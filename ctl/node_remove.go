//go:build !node

package ctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
	"counter/provisioning/probe"
	"counter/provisioning/redisconf"
	"counter/provisioning/sshx"
	"counter/provisioning/switchover"
)

type nodeRemoveOptions struct {
	provisionOptions
	name   string
	access failoverAccess
}

// counterUnits are stopped and disabled on a removed node; a unit the
// node does not have (redis-sentinel before Sentinel is provisioned) is
// passed over.
func counterUnits() []string {
	return []string{"counterd.service", "redis-sentinel.service", "redis-server.service"}
}

func newNodeRemoveCmd() *cobra.Command {
	o := &nodeRemoveOptions{provisionOptions: provisionOptions{getenv: os.Getenv, now: time.Now}, access: defaultFailoverAccess()}
	cmd := &cobra.Command{
		Use:   "remove NAME -i FILE",
		Short: "Take a node out of the cluster, then tell the admin to delete it from the inventory",
		Long: `Refuses when NAME is the live master (switch over first: counterctl
failover). Otherwise stops and disables counterd, Redis and Sentinel on NAME
if it answers over SSH, renders the other nodes' firewall and sentinel.conf
without NAME (the firewall and sentinel steps of provision, on every other
node: the quorum is a majority of the nodes), and sends SENTINEL RESET
to the other nodes' sentinels one at a time, each time waiting until that
sentinel has found the remaining nodes again, so they forget NAME. Last, it
says to delete NAME from the inventory.`,
		Example: `  counterctl node remove oceania -i inventory.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file` that still lists NAME")
	f.IntVar(&o.parallel, "parallel", 10, "how many nodes to connect to, and to provision, at once")
	_ = cmd.MarkFlagRequired("inventory")
	return cmd
}

func (o *nodeRemoveOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	inv, err := inventory.Load(o.inventory)
	if err != nil {
		return err
	}
	n, ok := inv.Node(o.name)
	if !ok {
		return fmt.Errorf("%s is not in %s: nothing to remove", o.name, o.inventory)
	}
	conn := host.NewConnector(inv, host.ConnectOptions{AgentSocket: o.getenv("SSH_AUTH_SOCK")})
	defer conn.Close()
	if err := o.refuseMaster(ctx, inv, conn, stdout); err != nil {
		return err
	}
	cli, err := o.access.cli(inv)
	if err != nil {
		return err
	}
	cli.Shell = func(name string) (switchover.Shell, error) {
		n, ok := inv.Node(name)
		if !ok {
			return nil, fmt.Errorf("no node %s", name)
		}
		c, err := conn.Client(ctx, n)
		if err != nil {
			return nil, err
		}
		return sshShell{c}, nil
	}

	fmt.Fprintf(stdout, "stopping the counter services on %s\n", o.name)
	if c, err := conn.Client(ctx, n); err != nil {
		fmt.Fprintf(stdout, "  %s does not answer (%v): its services stay as they are\n", o.name, err)
	} else if err := stopUnits(ctx, c, stdout); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\nthe other nodes' firewall and sentinel.conf, without %s\n", o.name)
	o.loaded = inv.Without(o.name)
	o.only, o.noPackage = onlyOn("", countingNodes...), true
	if err := o.provisionOptions.run(ctx, stdout, stderr); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\nthe sentinels forget %s\n", o.name)
	cluster := switchover.Cluster{Name: inv.Cluster, Nodes: livemaster.NodesOf(inv, nil, redisconf.DefaultPort)}
	if err := switchover.ResetSentinels(ctx, cli, cluster, o.name, time.Minute, stdout); err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("sentinels: %w", err)}
	}
	fmt.Fprintf(stdout, "\n%s is out of the cluster: now delete it from %s\n", o.name, o.inventory)
	return nil
}

// refuseMaster stops the removal of the node the others replicate from.
func (o *nodeRemoveOptions) refuseMaster(ctx context.Context, inv *inventory.Inventory, conn *host.Connector, stdout io.Writer) error {
	pr := probe.New(conn, probe.Defaults(), o.now)
	nodes := inv.Ordered()
	ss := make([]nodeStatus, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { ss[i] = fromFacts(pr.Probe(ctx, n)) })
	}
	wg.Wait()
	d, err := decideFromStatus(ctx, inv, ss)
	if err != nil {
		return fmt.Errorf("who is master now: %w (nothing removed)", err)
	}
	if d.Master.Name == o.name {
		return fmt.Errorf("%s is the live master (%s): switch over first (counterctl failover), nothing removed", o.name, d.Why)
	}
	fmt.Fprintf(stdout, "master: %s, from the %s\n", d.Master.Name, d.Source)
	return nil
}

func stopUnits(ctx context.Context, c *sshx.Client, stdout io.Writer) error {
	for _, u := range counterUnits() {
		out, err := c.Run(ctx, []string{"systemctl", "disable", "--now", u}, sshx.RunOptions{})
		if err != nil {
			msg := string(out.Stderr)
			if strings.Contains(msg, "does not exist") || strings.Contains(msg, "not loaded") {
				continue
			}
			return fmt.Errorf("stop %s: %w (%s)", u, err, strings.TrimSpace(msg))
		}
		fmt.Fprintf(stdout, "  %s stopped and disabled\n", u)
	}
	return nil
}
