//go:build !node

package ctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"counter/provisioning/health"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/probe"
)

type healthOptions struct {
	inventory string
	nodes     []string
	output    string
	warnOnly  []string
	timeout   time.Duration
	parallel  int
	httpPort  int
	getenv    func(string) string
	// probe says where things are on a node; tests point it at fixtures.
	probe probe.Options
}

// newHealthCmd builds `counterctl health` for nodes as provision lays them out.
func newHealthCmd() *cobra.Command { return newHealthCmdAt(probe.Options{}) }

// newHealthCmdAt builds `counterctl health`; where describes the nodes'
// layout (zero fields: what provision installs).
func newHealthCmdAt(where probe.Options) *cobra.Command {
	o := &healthOptions{getenv: os.Getenv, probe: where}
	cmd := &cobra.Command{
		Use:   "health -i FILE [--node NAME] [--output text|json] [--warn-only CHECK,...]",
		Short: "Check the cluster for cron or Nagios/Icinga: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
		Long: `Checks every node of the inventory (replicas over SSH through the master
or, if it does not answer, the mirror,
counterd over HTTP at the node's address, as visitors reach it) and grades it
with the thresholds under health: in the inventory (defaults in
inventory.example.yaml). Read-only.

Checks, per node: ssh (reachable), readyz (counterd /readyz answers 200),
value (the page and /getvalue show at least the master's value within
health.value_staleness), redis-role (master, or following the inventory's
master), replication (link up; seconds since the master was last heard and
bytes behind its offset), memory (Redis used_memory against MemTotal), disk
(free space of / and /var/lib/redis), tls-cert (days left on the Redis and
counterd certificates), clock (offset from this machine, net of half the round
trip), raid (the node's /var/lib/counter/raid.json, written by
counter-raid-check.timer; older than health.raid_state_max_age is UNKNOWN).
sentinel and dns are SKIPPED: the project has no Sentinel or DNS records yet.

Output: a summary line with Nagios performance data after "|", then one line
per failing check, worst first ("CRITICAL na: counterd /readyz: 503 ...").
Checks that could not run because another failed (everything after ssh) are
left out of the text and marked blocked_by in the JSON.

--output json prints {cluster, state, summary, master, nodes, nodes_ready,
nodes_unreachable, max_lag_seconds, checked_at, duration_seconds, results: [{node, check, state,
message, blocked_by?, capped_from?}]}; states are "OK", "WARNING",
"CRITICAL", "UNKNOWN", "SKIPPED". Fields are only ever added.

--warn-only CHECK,... caps those checks at WARNING: their CRITICAL or
UNKNOWN is reported as WARNING, with the real state in the line
("(CRITICAL, capped by --warn-only)") and in capped_from. For known,
accepted conditions, e.g. --warn-only raid on machines without RAID.

Exit codes: the worst state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; a
CRITICAL anywhere wins over an UNKNOWN elsewhere); 3 also for a bad
inventory or flag. The whole run is bounded by --timeout, so cron never
piles up; what is not known by then is UNKNOWN.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	// A monitoring plugin that cannot run says UNKNOWN, not WARNING (1).
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &ExitError{Code: 3, Err: err} })
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file`")
	f.StringSliceVar(&o.nodes, "node", nil, "check only these `nodes` (repeat or comma-separate); the master is still read as the reference")
	f.StringVarP(&o.output, "output", "o", "text", "output `format`: text or json")
	f.StringSliceVar(&o.warnOnly, "warn-only", nil, "`checks` whose failures count as WARNING at most (e.g. raid,clock)")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "bound on the whole run")
	f.IntVar(&o.parallel, "parallel", 8, "how many nodes to check at once")
	f.IntVar(&o.httpPort, "http-port", 80, "counterd's HTTP `port` on the nodes")
	return cmd
}

func (o *healthOptions) run(ctx context.Context, stdout io.Writer) error {
	inv, nodes, err := o.validate()
	if err != nil {
		return &ExitError{Code: 3, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// A replica costs two handshakes (the master's, then its own through
	// it); a third of the budget each leaves time for the checks. A silent
	// node then fails on its own timeouts, CRITICAL, rather than on the
	// run's, which would only say UNKNOWN.
	conn := host.NewConnector(inv, host.ConnectOptions{AgentSocket: o.getenv("SSH_AUTH_SOCK"), ConnectTimeout: o.timeout / 3})
	defer conn.Close()
	where := o.probe
	where.HTTPPort = o.httpPort
	if where.RootCAs, err = counterdRoots(inv); err != nil {
		return &ExitError{Code: 3, Err: err}
	}
	where.ServerName = counterdServerName(inv)
	where.HTTPTimeout = min(probe.Defaults().HTTPTimeout, o.timeout/3)
	rep := health.Run(ctx, probe.New(conn, where, time.Now), inv, health.Options{
		Nodes: nodes, Parallel: o.parallel, WarnOnly: o.warnOnly,
	})
	if o.output == "json" {
		err = health.WriteJSON(stdout, rep)
	} else {
		err = health.WriteText(stdout, rep)
	}
	if err != nil {
		return &ExitError{Code: 3, Err: fmt.Errorf("write report: %w", err)}
	}
	if code := rep.ExitCode(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func (o *healthOptions) validate() (*inventory.Inventory, []inventory.Node, error) {
	if o.inventory == "" {
		return nil, nil, fmt.Errorf("--inventory (-i) is required")
	}
	if o.output != "text" && o.output != "json" {
		return nil, nil, fmt.Errorf("--output %q: want text or json", o.output)
	}
	if o.timeout <= 0 || o.parallel <= 0 || o.httpPort <= 0 || o.httpPort > 65535 {
		return nil, nil, fmt.Errorf("--timeout, --parallel and --http-port must be positive (port at most 65535)")
	}
	known := health.CheckNames()
	for _, c := range o.warnOnly {
		if !slices.Contains(known, c) {
			return nil, nil, fmt.Errorf("--warn-only: unknown check %q (checks: %s)", c, strings.Join(known, ", "))
		}
	}
	inv, err := inventory.Load(o.inventory)
	if err != nil {
		return nil, nil, err
	}
	nodes, err := inv.Limit(o.nodes)
	if err != nil {
		return nil, nil, err
	}
	return inv, nodes, nil
}
