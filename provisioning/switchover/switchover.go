// Package switchover moves the master role of a Sentinel-watched Redis
// cluster to a chosen replica without losing an acknowledged write.
//
// Why Sentinel's failover behind a pause, not Redis' FAILOVER TO: FAILOVER
// TO demotes the master itself, but the sentinels did not choose the new
// master and their configuration epoch still names the old one, so they
// may turn the new master back into a replica (redis#13118); it also
// leaves the other replicas chained behind the old master. SENTINEL
// FAILOVER alone is not coordinated: it does not stop writes, so a write
// acknowledged by the old master after the chosen replica's last sync is
// lost (redis#6062), and it picks the replica by priority, then offset.
// So Run does what FAILOVER TO does, around Sentinel's own failover:
// make the target Sentinel's first choice (replica-priority), pause
// writes on the master (CLIENT PAUSE WRITE), wait until the target has
// the master's whole replication stream, SENTINEL FAILOVER, wait until the
// target is master and a majority of sentinels name it, make the old
// master a replica of it while writes are still paused (so no write the
// pause held back lands on the old master), then resume writes and put the
// priorities back.
package switchover

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"

	"strings"
	"time"

	"counter/provisioning/livemaster"
)

// Asker sends one command to a data node's Redis or to the Sentinel on
// that node. Replies are as go-redis' Do or redis-cli --json give them.
type Asker interface {
	Redis(ctx context.Context, node string, args ...any) (any, error)
	Sentinel(ctx context.Context, node string, args ...any) (any, error)
}

// Cluster is what Run switches over.
type Cluster struct {
	Name  string            // Sentinel's master name (the inventory's cluster)
	Nodes []livemaster.Node // every data node; each runs a Sentinel
}

// Options tune Run; zero values take the defaults.
type Options struct {
	To     string // the node to promote; "": the mirror if it qualifies, else the most up-to-date replica
	DryRun bool   // check and print the plan; change nothing
	// MaxLag is how many bytes of replication stream the target may miss
	// before the pause: writes stay paused while it catches up.
	MaxLag int64
	// Pause is one CLIENT PAUSE; Run renews it until the old master is a
	// replica, so it only bounds how long writes stay paused if Run dies.
	Pause time.Duration
	// CatchUp bounds the wait for the target to reach the master's
	// offset, and SentinelsSee the wait for the sentinels to read the
	// temporary priorities (they read a replica's INFO every 10 s).
	CatchUp, SentinelsSee time.Duration
	CallTimeout           time.Duration // one command to one server
	Out                   io.Writer
	Now                   func() time.Time
}

func (o *Options) defaults() {
	if o.MaxLag == 0 {
		o.MaxLag = 1 << 20
	}
	if o.Pause == 0 {
		o.Pause = 5 * time.Second
	}
	if o.CatchUp == 0 {
		o.CatchUp = 5 * time.Second
	}
	if o.SentinelsSee == 0 {
		o.SentinelsSee = 30 * time.Second
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 3 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Result is what a switchover did.
type Result struct {
	Plan *Plan
	// WritePause is from CLIENT PAUSE on the old master until writes were
	// let through again (by then it is a replica: they fail READONLY).
	WritePause time.Duration
}

type runner struct {
	a Asker
	c Cluster
	o Options
}

// Run checks, then (unless DryRun) switches the master to the target,
// printing each step to o.Out. A failed check returns an error wrapping
// ErrRefused with nothing changed.
func Run(ctx context.Context, a Asker, c Cluster, o Options) (Result, error) {
	o.defaults()
	r := &runner{a: a, c: c, o: o}
	p, err := r.plan(ctx)
	r.printPlan(p, err)
	res := Result{Plan: p}
	if err != nil || o.DryRun {
		return res, err
	}
	res.WritePause, err = r.switchover(ctx, p)
	return res, err
}

func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.o.Out, "%s  %s\n", r.o.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func (r *runner) printPlan(p *Plan, err error) {
	w := r.o.Out
	if p.Master != "" {
		fmt.Fprintf(w, "master: %s (%s), offset %d\n", p.Master, p.why, p.MasterOffset)
	}
	for _, c := range p.Checks {
		fmt.Fprintf(w, "check: %-60s %s (%s)\n", c.What, map[bool]string{true: "ok", false: "FAILED"}[c.OK], c.Got)
	}
	if err != nil {
		return
	}
	fmt.Fprintf(w, "target: %s\nplan:\n", p.Target)
	var temp []string
	for _, n := range slices.Sorted(mapKeys(p.Temporary)) {
		temp = append(temp, fmt.Sprintf("%s %d→%d", n, p.Priority[n], p.Temporary[n]))
	}
	choice := p.Target + " is already Sentinel's first choice (the lowest replica-priority)"
	if len(temp) > 0 {
		choice = "make " + p.Target + " Sentinel's first choice: replica-priority " + strings.Join(temp, ", ") + ", until every sentinel sees it"
	}
	steps := []string{
		choice,
		"pause writes on " + p.Master + " (CLIENT PAUSE WRITE, renewed)",
		"wait until " + p.Target + " has " + p.Master + "'s replication offset",
		"SENTINEL FAILOVER " + r.c.Name + " on the sentinel of " + first(p.Sentinels),
		"wait until " + p.Target + " is master and a majority of sentinels name it",
		"make " + p.Master + " a replica of " + p.Target + ", then resume writes (they fail READONLY there and go to " + p.Target + ")",
	}
	if len(temp) > 0 {
		steps = append(steps, "put replica-priority back")
	}
	for i, s := range steps {
		fmt.Fprintf(w, "  %d. %s\n", i+1, s)
	}
	if r.o.DryRun {
		fmt.Fprintln(w, "dry run: nothing changed")
	}
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// do is one command to one node's Redis, bounded by CallTimeout.
func (r *runner) do(ctx context.Context, node string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.CallTimeout)
	defer cancel()
	v, err := r.a.Redis(ctx, node, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", node, args, err)
	}
	return v, nil
}

func (r *runner) sentinel(ctx context.Context, node string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.CallTimeout)
	defer cancel()
	v, err := r.a.Sentinel(ctx, node, args...)
	if err != nil {
		return nil, fmt.Errorf("sentinel on %s: %v: %w", node, args, err)
	}
	return v, nil
}

// poll calls cond every 100 ms until it returns nil, within d.
func poll(ctx context.Context, d time.Duration, cond func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %s)", err, d)
		case <-t.C:
		}
	}
}

// addr is where the old master is sent to replicate from: the node's last
// address form, its resolved IP when known (what the sentinels use too).
func (r *runner) addr(name string) (host, port string) {
	n, _ := r.byName(name)
	host, port, _ = net.SplitHostPort(n.Addrs[len(n.Addrs)-1])
	return host, port
}
