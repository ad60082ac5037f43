//go:build !node

package ctl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
	"counter/provisioning/redisconf"
	"counter/provisioning/sentinel"
	"counter/provisioning/sshx"
	"counter/provisioning/switchover"
)

type failoverOptions struct {
	inventory string
	to        string
	dryRun    bool
	maxLag    int64
	access    failoverAccess
	getenv    func(string) string
	now       func() time.Time
}

func newFailoverCmd() *cobra.Command {
	o := &failoverOptions{getenv: os.Getenv, now: time.Now, access: defaultFailoverAccess()}
	cmd := &cobra.Command{
		Use:   "failover -i FILE [--to NODE] [--dry-run]",
		Short: "Switch the master to a replica without losing an acknowledged press",
		Long: `A planned switchover, with the sentinels running. Asks every node's
Sentinel who the master is (a majority must agree), then checks the target
(--to, else the mirror when it qualifies, else the most up-to-date replica):
an online replica of the master with its link up, at most --max-lag bytes
behind, answering, and replica-priority not 0. A failed check refuses with
the reason and changes nothing; --dry-run prints the checks and the plan.

Then, printing each step: makes the target Sentinel's first choice
(replica-priority, put back at the end), pauses writes on the master
(CLIENT PAUSE WRITE), waits until the target has the master's whole
replication stream, asks one sentinel to fail over (SENTINEL FAILOVER),
waits until the target is master and a majority of sentinels name it,
makes the old master its replica and only then lets writes through. A
press acknowledged before the pause is on the target; one held by the
pause fails on the old master (a replica by then) and counterd retries it
on the new one. Redis' own FAILOVER TO is not used: the sentinels did not
choose its new master and may turn it back into a replica.

Runs redis-cli on the nodes over SSH (as root: Redis on its unix socket,
Sentinel on loopback with the node's certificate), logged in as the ACL
user counterctl that provision writes on both, with the inventory secret
sentinel_counterctl_password. Exit status 0 when the target is master,
non-zero on a refusal or a failure.`,
		Example: `  counterctl failover -i inventory.yaml --dry-run
  counterctl failover -i inventory.yaml --to na`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file`")
	f.StringVar(&o.to, "to", "", "the `node` to promote (default: the mirror if caught up, else the most up-to-date replica)")
	f.BoolVar(&o.dryRun, "dry-run", false, "check and print the plan; change nothing")
	f.Int64Var(&o.maxLag, "max-lag", 1<<20, "refuse a target more than this many `bytes` behind the master (writes stay paused while it catches up)")
	_ = cmd.MarkFlagRequired("inventory")
	return cmd
}

func (o *failoverOptions) run(ctx context.Context, stdout io.Writer) error {
	if o.maxLag < 0 {
		return fmt.Errorf("--max-lag %d: want 0 or more", o.maxLag)
	}
	inv, err := inventory.Load(o.inventory)
	if err != nil {
		return err
	}
	if o.to != "" {
		if _, ok := inv.Node(o.to); !ok {
			return fmt.Errorf("--to %s: no such node in %s", o.to, o.inventory)
		}
	}
	cli, err := o.access.cli(inv)
	if err != nil {
		return err
	}
	addrs, err := resolveNodes(ctx, inv)
	if err != nil {
		return err
	}
	conn := host.NewConnector(inv, host.ConnectOptions{AgentSocket: o.getenv("SSH_AUTH_SOCK")})
	defer conn.Close()
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
	// Every node's SSH connection first, all at once, each within its
	// ssh.connect_timeout: the switchover's per-call timeout (3 s) then
	// bounds one command, not also a handshake through the master to a
	// node 290 ms away, which under load took longer and left four of
	// seven sentinels unasked (chaos scenarios 2 and 6, 2026-12-03). A
	// node that cannot be reached says so again at its first call.
	var wg sync.WaitGroup
	for _, n := range inv.Nodes {
		wg.Go(func() { _, _ = conn.Client(ctx, n) })
	}
	wg.Wait()
	cluster := switchover.Cluster{Name: inv.Cluster, Nodes: livemaster.NodesOf(inv, addrs, redisconf.DefaultPort)}
	res, err := switchover.Run(ctx, cli, cluster, switchover.Options{
		To: o.to, DryRun: o.dryRun, MaxLag: o.maxLag, Out: stdout, Now: o.now,
	})
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	if !o.dryRun {
		fmt.Fprintf(stdout, "%s is master; writes were paused for %s\n", res.Plan.Target, res.WritePause.Round(time.Millisecond))
	}
	return nil
}

// failoverAccess is how counterctl logs in to the nodes' Redis and
// Sentinel: ACL users whose passwords are inventory secrets, sent to
// redis-cli on stdin.
type failoverAccess struct {
	RedisUser, RedisSecret       string
	SentinelUser, SentinelSecret string
}

// defaultFailoverAccess: the ACL user counterctl that provision writes on
// Redis (redisconf's counterctlCommands) and on Sentinel, with one secret,
// sentinel_counterctl_password, which provision also keeps on each node
// in sentinel.PasswordFile.
func defaultFailoverAccess() failoverAccess {
	return failoverAccess{
		RedisUser: sentinel.User, RedisSecret: "sentinel_counterctl_password",
		SentinelUser: sentinel.User, SentinelSecret: "sentinel_counterctl_password",
	}
}

func (a failoverAccess) cli(inv *inventory.Inventory) (*switchover.CLI, error) {
	rpw, err := inv.Secret(a.RedisSecret)
	if err != nil {
		return nil, err
	}
	spw, err := inv.Secret(a.SentinelSecret)
	if err != nil {
		return nil, err
	}
	p := redisconf.DebianPaths()
	return &switchover.CLI{
		RedisAt: switchover.Endpoint{Args: []string{"-s", p.UnixSocket}, User: a.RedisUser, Password: rpw},
		SentinelAt: switchover.Endpoint{
			Args: []string{"--tls", "--cacert", p.TLSCAFile, "--cert", p.TLSCertFile, "--key", p.TLSKeyFile,
				"-h", "127.0.0.1", "-p", strconv.Itoa(redisconf.SentinelPort)},
			User: a.SentinelUser, Password: spw,
		},
	}, nil
}

// sshShell runs redis-cli on a node over its SSH connection.
type sshShell struct{ c *sshx.Client }

func (s sshShell) Run(ctx context.Context, argv []string, stdin []byte) ([]byte, []byte, error) {
	out, err := s.c.Run(ctx, argv, sshx.RunOptions{Stdin: bytes.NewReader(stdin)})
	return out.Stdout, out.Stderr, err
}

func (s sshShell) ReadFile(ctx context.Context, path string) ([]byte, error) {
	b, ok, err := s.c.ReadFile(ctx, path)
	if err == nil && !ok {
		err = fmt.Errorf("%s: missing", path)
	}
	return b, err
}
