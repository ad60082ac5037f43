package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"counter/internal/redisinfo"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
	"counter/provisioning/nagios"
	"counter/provisioning/probe"
	"counter/provisioning/redisconf"
)

// Prober gathers facts about nodes; *probe.Prober is one.
type Prober interface {
	Probe(ctx context.Context, n inventory.Node) *probe.Facts
	Value(ctx context.Context, n inventory.Node) probe.Fact[int64]
	Page(ctx context.Context, n inventory.Node) probe.Fact[int64]
	ZoneSerial(ctx context.Context, server, zone string) probe.Fact[uint32]
}

var _ Prober = (*probe.Prober)(nil)

// Options tune one run.
type Options struct {
	Nodes    []inventory.Node // to report on; empty means all
	Parallel int              // nodes probed at once; default 8
	// WarnOnly names checks whose failures count as WARNING at most, for
	// what an admin knows and accepts (e.g. raid on lab machines).
	WarnOnly  []string
	Now       func() time.Time
	PollEvery time.Duration // between re-reads of a node's value; default 200ms
	// ZoneLag is how long a node's copy of the zone may trail the
	// primary's (dns.secondary); default ZoneLagBound.
	ZoneLag time.Duration
}

// Run checks the cluster and returns the graded report. It returns when
// every node is graded or ctx ends; facts missing then grade UNKNOWN.
func Run(ctx context.Context, p Prober, inv *inventory.Inventory, opts Options) *Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	if opts.PollEvery <= 0 {
		opts.PollEvery = 200 * time.Millisecond
	}
	if opts.ZoneLag <= 0 {
		opts.ZoneLag = ZoneLagBound
	}
	start := opts.Now()
	nodes := opts.Nodes
	if len(nodes) == 0 {
		nodes = inv.Ordered()
	}
	// Every node is probed, also when reporting on a few: who is master
	// now is decided from all of them (provisioning/livemaster), and
	// replicas are graded against the live master's offset.
	probed := inv.Ordered()
	for _, n := range nodes {
		if !slices.ContainsFunc(probed, func(m inventory.Node) bool { return m.Name == n.Name }) {
			probed = append(probed, n)
		}
	}
	facts := make([]*probe.Facts, len(probed))
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, n := range probed {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				facts[i] = p.Probe(ctx, n)
			case <-ctx.Done():
				facts[i] = unprobed(n, context.Cause(ctx))
			}
		})
	}
	wg.Wait()
	live, liveErr := decide(ctx, inv, facts)
	master := live.Master
	var mf *probe.Facts
	for _, f := range facts {
		if f.Node.Name == master.Name {
			mf = f
		}
	}
	// The live master's value is the reference: every node must show at
	// least this much within the staleness bound after it was read,
	// whatever presses happen meanwhile. A node's value read before it is
	// simply re-read.
	ref := p.Value(ctx, master)
	// Real time, not opts.Now: this deadline paces real re-reads.
	deadline := time.Now().Add(inv.Health.ValueStaleness)
	// With secondaries, the primary's serial is the zone's reference, as
	// the master's value is the counter's.
	var zoneRef probe.Fact[uint32]
	if inv.DNS.Secondary {
		zoneRef = p.ZoneSerial(ctx, inv.DNS.Server, inv.DNS.Zone)
	}
	zoneDeadline := time.Now().Add(opts.ZoneLag)

	results := make([][]Result, len(nodes))
	for i, n := range nodes {
		f := facts[slices.IndexFunc(probed, func(m inventory.Node) bool { return m.Name == n.Name })]
		results[i] = grade(subject{node: n, facts: f, master: mf, masterErr: liveErr, limits: inv.Health, raid: inv.RAID, now: opts.Now(), late: ctx.Err() != nil,
			masterAddrs: masterAddrs(inv, master)})
	}
	for i, n := range nodes {
		wg.Go(func() {
			f := facts[slices.IndexFunc(probed, func(m inventory.Node) bool { return m.Name == n.Name })]
			v := agree(ctx, p, n, master.Name, f, ref, deadline, inv.Health.ValueStaleness, opts.PollEvery)
			v.Node = n.Name
			// value goes after readyz, as in CheckNames.
			results[i] = slices.Insert(results[i], 2, v)
			if inv.DNS.Secondary {
				z := zoneAgree(ctx, p, n, inv.DNS.Server, inv.DNS.Zone, zoneRef, zoneDeadline, opts.ZoneLag, opts.PollEvery)
				z.Node = n.Name
				results[i][slices.IndexFunc(results[i], func(r Result) bool { return r.Check == CheckDNS })] = z
			}
		})
	}
	wg.Wait()

	r := &Report{Cluster: inv.Cluster, Master: master.Name, CheckedAt: start.UTC()}
	for _, rs := range results {
		r.Results = append(r.Results, rs...)
	}
	capWarnOnly(r.Results, opts.WarnOnly)
	r.summarise(facts, nodes)
	r.DurationSeconds = opts.Now().Sub(start).Seconds()
	return r
}

// sentinelsOf are the nodes' sentinels as the probes found them, named by
// node: their views for livemaster.DecideWithSentinels.
func sentinelsOf(facts []*probe.Facts) livemaster.Sentinels {
	views := map[string]probe.Fact[probe.SentinelView]{}
	var s livemaster.Sentinels
	for _, f := range facts {
		s.Addrs = append(s.Addrs, f.Node.Name)
		views[f.Node.Name] = f.Sentinel
	}
	s.Ask = func(_ context.Context, name string) (string, error) {
		v := views[name]
		return v.V.Master, v.Err
	}
	return s
}

// decide is livemaster.DecideWithSentinels over the sentinels' views and
// the INFO the probes read. When it
// fails (the nodes disagree) the Decision still names the inventory's
// master, so the report has a node to block on.
func decide(ctx context.Context, inv *inventory.Inventory, facts []*probe.Facts) (livemaster.Decision, error) {
	byName := map[string]*probe.Facts{}
	for _, f := range facts {
		byName[f.Node.Name] = f
	}
	q := func(_ context.Context, n inventory.Node) (redisinfo.Fields, error) {
		f, ok := byName[n.Name]
		switch {
		case !ok:
			return nil, errors.New("not probed")
		case f.Redis.Err != nil:
			return nil, f.Redis.Err
		}
		return f.Redis.V.Fields(), nil
	}
	d, err := livemaster.DecideWithSentinels(ctx, sentinelsOf(facts), livemaster.NodesOf(inv, nil, redisconf.DefaultPort), inv.Master(), q)
	if err != nil {
		d.Master = inv.Master()
	}
	return d, err
}

// agree checks that the node's /getvalue and page show at least the
// master's value ref, re-reading them until deadline if they trail.
func agree(ctx context.Context, p Prober, n inventory.Node, masterName string, f *probe.Facts, ref probe.Fact[int64],
	deadline time.Time, bound, every time.Duration) Result {
	if ref.Err != nil {
		if n.Name == masterName {
			return failed(ctx.Err() != nil, CheckValue, "/getvalue: ", ref.Err)
		}
		return Result{Check: CheckValue, State: nagios.Unknown, BlockedBy: masterName + "/" + CheckValue,
			Message: "no reference: the master's /getvalue: " + ref.Err.Error()}
	}
	value, page := f.Value, f.Page
	for {
		switch {
		case value.Err != nil:
			return failed(ctx.Err() != nil, CheckValue, "/getvalue: ", value.Err)
		case page.Err != nil:
			return failed(ctx.Err() != nil, CheckValue, "", page.Err)
		case value.V >= ref.V && page.V >= ref.V:
			return Result{Check: CheckValue, State: nagios.OK,
				Message: fmt.Sprintf("/getvalue %d, page %d, master had %d", value.V, page.V, ref.V)}
		}
		wait := time.Until(deadline)
		if wait <= 0 || ctx.Err() != nil {
			return Result{Check: CheckValue, State: nagios.Critical, Message: fmt.Sprintf(
				"/getvalue %d, page %d: behind the master's %d for more than %s",
				value.V, page.V, ref.V, bound)}
		}
		t := time.NewTimer(min(every, wait))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if value.V < ref.V {
			value = p.Value(ctx, n)
		}
		if page.V < ref.V {
			page = p.Page(ctx, n)
		}
	}
}

// ZoneLagBound is how long a node's copy of the zone may trail the
// primary's before the dns check warns: a NOTIFY brings a change in about
// a second, and a node that missed it asks within a minute by itself
// (provisioning/secondary), so a copy still behind after this is one to
// look at, not yet one that fails.
const ZoneLagBound = 10 * time.Second

// zoneAgree checks that the node's Knot serves the zone at the primary's
// serial ref or later (RFC 1982 arithmetic), re-asking until deadline.
func zoneAgree(ctx context.Context, p Prober, n inventory.Node, primary, zone string, ref probe.Fact[uint32],
	deadline time.Time, bound, every time.Duration) Result {
	if ref.Err != nil {
		return Result{Check: CheckDNS, State: nagios.Unknown, Message: "no reference: the primary (dns.server): " + ref.Err.Error()}
	}
	server := net.JoinHostPort(n.Address, "53")
	for {
		got := p.ZoneSerial(ctx, server, zone)
		switch {
		case got.Err != nil:
			return failed(ctx.Err() != nil, CheckDNS, "the node's secondary: ", got.Err)
		case int32(got.V-ref.V) >= 0:
			return Result{Check: CheckDNS, State: nagios.OK, Message: fmt.Sprintf("serves %s at serial %d, the primary %s had %d", zone, got.V, primary, ref.V)}
		}
		wait := time.Until(deadline)
		if wait <= 0 || ctx.Err() != nil {
			return Result{Check: CheckDNS, State: nagios.Warning, Message: fmt.Sprintf(
				"serves %s at serial %d, behind the primary's %d for more than %s (journalctl -u knot on the node says why)",
				zone, got.V, ref.V, bound)}
		}
		t := time.NewTimer(min(every, wait))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// masterAddrs are the host:port forms a sentinel may name the master by.
func masterAddrs(inv *inventory.Inventory, m inventory.Node) []string {
	for _, n := range livemaster.NodesOf(inv, nil, redisconf.DefaultPort) {
		if n.Name == m.Name {
			return n.Addrs
		}
	}
	return nil
}

// unprobed is a node whose turn never came before the run's time was up.
func unprobed(n inventory.Node, err error) *probe.Facts {
	f := &probe.Facts{Node: n}
	f.SSH.Err, f.Ready.Err, f.Value.Err, f.Page.Err = err, err, err, err
	noSSH := probe.ErrNoSSH
	f.Clock.Err, f.Redis.Err, f.Memory.Err, f.Disks.Err = noSSH, noSSH, noSSH, noSSH
	f.Certs.Err, f.RAID.Err, f.Version.Err, f.Sentinel.Err = noSSH, noSSH, noSSH, noSSH
	return f
}
