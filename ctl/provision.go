//go:build !node

package ctl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"al.essio.dev/pkg/shellescape"
	"github.com/spf13/cobra"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/sshx"
	"counter/provisioning/steps"
)

type provisionOptions struct {
	inventory string
	limit     []string
	dryRun    bool
	diff      bool
	parallel  int
	acceptNew bool
	debs      debOptions
	getenv    func(string) string
	now       func() time.Time
	// only, when set, limits steps per node (node add); see phase.Runner.Only.
	only func(phase.Step, host.Host) bool
	// loaded, when set, is used instead of reading inventory (node remove
	// renders the cluster without the node still listed there).
	loaded *inventory.Inventory
	// noPackage: no step installs the package (node remove), so none is built.
	noPackage bool
}

func newProvisionCmd() *cobra.Command {
	o := &provisionOptions{getenv: os.Getenv, now: time.Now}
	cmd := &cobra.Command{
		Use:   "provision -i FILE",
		Short: "Make the inventory's Debian 12 hosts a serving, replicating counter cluster",
		Long: `Connects to every node over SSH (host keys checked against known_hosts;
replicas through the master, or the mirror if the master does not answer),
asks the nodes' Redis who is master now (the inventory's role: master is only
the first master: after a failover or switchover the node the others
replicate from stays master; nodes that disagree stop the run), then runs the
same idempotent steps on each:
Debian 12 and packages, the counter package, Redis (TLS, ACL users,
replication), counterd, the replication check, the firewall, sshd and the
RAID check. Every node installs its packages at once (they need no other
node); then the live master goes first, then the mirror (or the old master), then the replicas in
parallel. Each step reports ok, changed, skipped or failed per node; a
second run changes nothing. --dry-run shows what would change, with file
diffs, and changes nothing on the nodes.

The counter .deb for each node's architecture comes from --deb-dir
(counter_<version>_<arch>.deb), or is built from the source tree (--source,
default: the module around the working directory) with the local Go.`,
		Example: `  counterctl provision -i inventory.yaml
  counterctl provision -i inventory.yaml --dry-run
  counterctl provision -i inventory.yaml --limit na,sa --parallel 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file` (see inventory.example.yaml)")
	f.StringSliceVar(&o.limit, "limit", nil, "provision only these `nodes` (comma-separated names)")
	f.BoolVar(&o.dryRun, "dry-run", false, "connect, compare and show what would change; change nothing")
	f.BoolVar(&o.diff, "diff", false, "after a run, list what changed with file diffs (a dry run always does)")
	f.IntVar(&o.parallel, "parallel", 10, "how many nodes to connect to, and to provision, at once")
	f.BoolVar(&o.acceptNew, "accept-new-host-keys", false, "record host keys of nodes missing from known_hosts (a changed key is always refused)")
	o.debs.flags(cmd)
	_ = cmd.MarkFlagRequired("inventory")
	return cmd
}

func (o *provisionOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.parallel < 1 {
		return fmt.Errorf("--parallel %d: want at least 1", o.parallel)
	}
	inv := o.loaded
	if inv == nil {
		var err error
		if inv, err = inventory.Load(o.inventory); err != nil {
			return err
		}
	}
	nodes, err := inv.Limit(o.limit)
	if err != nil {
		return err
	}
	cluster, err := o.cluster(ctx, inv, stdout, stderr)
	if err != nil {
		return err
	}
	start := o.now()
	conn := host.NewConnector(inv, o.connectOptions(stderr))
	defer conn.Close()
	cluster.Redial = func(ctx context.Context, n inventory.Node) (host.Host, io.Closer, error) {
		fresh := host.NewConnector(inv, o.connectOptions(stderr))
		h, err := fresh.Host(ctx, n)
		if err != nil {
			fresh.Close()
			return nil, nil, err
		}
		return h, fresh, nil
	}
	// The package builds while the nodes connect; most nodes share this arch.
	if !o.noPackage {
		go cluster.Packages.Package(ctx, localDebArch())
	}
	fmt.Fprintf(stdout, "connecting to %d nodes\n", len(nodes))
	t0 := o.now()
	waves, unreachable, release := o.connect(ctx, conn, inv, nodes, stderr)
	defer release()
	fmt.Fprintf(stdout, "connected to %d of %d in %s\n", len(nodes)-len(unreachable), len(nodes), o.now().Sub(t0).Round(100*time.Millisecond))
	if waves, err = decideMaster(ctx, cluster, waves, stdout); err != nil {
		return err
	}
	r := &phase.Runner{
		Steps:    steps.All(cluster),
		Parallel: o.parallel,
		DryRun:   o.dryRun,
		Rerun:    o.rerun,
		Only:     o.only,
		Logger:   slog.New(newProgressHandler(stdout)),
		Now:      o.now,
	}
	rep := r.Run(ctx, waves...)
	rep.Hosts = append(rep.Hosts, unreachable...)
	return writeOutcome(stdout, rep, o.now().Sub(start), o.diff)
}

// writeOutcome ends a run: the changes of a dry run, the summary table, and
// an error that makes the exit status non-zero if a node failed.
func writeOutcome(w io.Writer, rep *phase.Report, took time.Duration, diff bool) error {
	if rep.DryRun || diff {
		fmt.Fprintln(w, map[bool]string{true: "\nWould change:", false: "\nChanged:"}[rep.DryRun])
		if !rep.Changed() {
			fmt.Fprintln(w, "  nothing")
		}
		if err := rep.WriteChanges(w); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if err := rep.WriteSummary(w); err != nil {
		return err
	}
	failed := 0
	for _, h := range rep.Hosts {
		if h.Err != nil {
			failed++
		}
	}
	fmt.Fprintf(w, "%s in %s\n", plural(len(rep.Hosts), "node"), took.Round(100*time.Millisecond))
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %s failed (see FAILED above)", failed, plural(len(rep.Hosts), "node"))}
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (o *provisionOptions) rerun(node string) string {
	return shellescape.QuoteCommand([]string{"counterctl", "provision", "-i", o.inventory, "--limit", node})
}

func (o *provisionOptions) connectOptions(stderr io.Writer) host.ConnectOptions {
	return host.ConnectOptions{
		AgentSocket: o.getenv("SSH_AUTH_SOCK"),
		AcceptNew:   o.acceptNew,
		OnNewHostKey: func(k sshx.NewHostKey) {
			fmt.Fprintf(stderr, "recorded new host key of %s (%s %s) in %s\n", k.Host, k.Type, k.Fingerprint, k.File)
		},
	}
}

// connect opens the nodes' SSH connections (the master's first: replicas
// go through it) and sorts them into the runner's waves. A node that cannot
// be reached is reported failed at "connect" without stopping the others.
// The connections are conn's, which closes them.
// A real run also locks each node against a concurrent run (see runLock);
// release undoes that.
func (o *provisionOptions) connect(ctx context.Context, conn *host.Connector, inv *inventory.Inventory, nodes []inventory.Node, stderr io.Writer) (waves [][]host.Host, failed []phase.HostReport, release func()) {
	var master, mirror, replicas []host.Host
	reads := steps.Reads()
	clients, errs := dialNodes(ctx, conn, nodes, o.parallel)
	lockErrs := make([]error, len(nodes))
	lock := newRunLock(o.now())
	if !o.dryRun {
		lockErrs = lock.acquire(ctx, clients)
	}
	// Every node's reads start at once: the replicas' cross the WAN while
	// the master and the mirror run their steps.
	var prefetch sync.WaitGroup
	release = func() {
		prefetch.Wait()
		if !o.dryRun {
			lock.release(clients, lockErrs)
		}
	}
	for i, n := range nodes {
		c, err, step := clients[i], errs[i], "connect"
		if err == nil && lockErrs[i] != nil {
			err, step = lockErrs[i], "lock"
		}
		if err != nil {
			failed = append(failed, phase.HostReport{Host: n.Name,
				Steps: []phase.StepReport{{Title: step, Status: phase.Failed, Err: err}},
				Err:   &phase.StepError{Host: n.Name, Step: step, Err: err, Rerun: o.rerun(n.Name)}})
			continue
		}
		b := steps.NewBatched(host.NewRemote(n.Name, c), reads, streamWriter{c})
		prefetch.Go(func() { b.Prefetch(ctx) })
		switch n.Role {
		case inventory.RoleMaster:
			master = append(master, b)
		case inventory.RoleMirror:
			mirror = append(mirror, b)
		default:
			replicas = append(replicas, b)
		}
	}
	return [][]host.Host{master, mirror, replicas}, failed, release
}
