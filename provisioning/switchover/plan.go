package switchover

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"counter/internal/redisinfo"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
)

// ErrRefused is wrapped by Run when a check fails before anything changed.
var ErrRefused = errors.New("switchover refused")

// Check is one precondition and what was found.
type Check struct {
	What string
	OK   bool
	Got  string
}

// Plan is what Run found before changing anything.
type Plan struct {
	Master       string
	Target       string
	MasterOffset int64
	Checks       []Check
	// Priority is every replica's replica-priority now; Temporary the
	// values that make the target Sentinel's first choice.
	Priority, Temporary map[string]int
	// Sentinels are the nodes whose sentinel answered, in node order.
	Sentinels []string
	// FailoverTimeout is the sentinels' failover-timeout: how long a
	// sentinel may still promote after SENTINEL FAILOVER.
	FailoverTimeout time.Duration
	why             string // the sentinels' view of the master
}

// node is one data node's replication state as the plan reads it.
type node struct {
	livemaster.Node
	info     redisinfo.Fields
	err      error
	priority int
	lag      int64 // bytes behind the master: its own INFO, else the master's view
	onMaster bool  // the master lists it as a replica
}

// plan reads the sentinels, the master and every replica, then checks the
// target (or chooses one). The error wraps ErrRefused when a check fails.
func (r *runner) plan(ctx context.Context) (*Plan, error) {
	p := &Plan{Priority: map[string]int{}, Temporary: map[string]int{}}
	master, err := r.sentinelMaster(ctx, p)
	if err != nil {
		return p, err
	}
	p.Master = master.Name
	mi, err := r.info(ctx, master.Name)
	if err != nil {
		return p, fmt.Errorf("%w: master %s does not answer: %w", ErrRefused, master.Name, err)
	}
	if mi["role"] != "master" {
		return p, fmt.Errorf("%w: the sentinels name %s, which says role:%s", ErrRefused, master.Name, mi["role"])
	}
	p.MasterOffset, _ = strconv.ParseInt(mi["master_repl_offset"], 10, 64)

	nodes := r.replicas(ctx, master, mi, p.MasterOffset)
	for _, n := range nodes {
		if n.err == nil && n.onMaster {
			p.Priority[n.Name] = n.priority
		}
	}
	target, err := r.choose(nodes, p)
	if err != nil {
		return p, err
	}
	p.Target = target.Name
	// The target gets 1 (the strongest non-zero priority); any other
	// replica at 1 steps back to 2 so the target alone comes first.
	if target.priority != 1 {
		p.Temporary[target.Name] = 1
	}
	for name, prio := range p.Priority {
		if name != target.Name && prio == 1 {
			p.Temporary[name] = 2
		}
	}
	return p, nil
}

// sentinelMaster asks every sentinel for the master and its
// failover-timeout; more than half of all sentinels must name one node.
func (r *runner) sentinelMaster(ctx context.Context, p *Plan) (livemaster.Node, error) {
	views := make([]map[string]string, len(r.c.Nodes))
	errs := make([]error, len(r.c.Nodes))
	var wg sync.WaitGroup
	for i, n := range r.c.Nodes {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, r.o.CallTimeout)
			defer cancel()
			v, err := r.a.Sentinel(cctx, n.Name, "SENTINEL", "MASTER", r.c.Name)
			if err == nil {
				views[i], err = asPairs(v)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	votes := map[string]int{}
	var said []string
	for i, n := range r.c.Nodes {
		if errs[i] != nil {
			said = append(said, fmt.Sprintf("%s: %v", n.Name, errs[i]))
			continue
		}
		hp := net.JoinHostPort(views[i]["ip"], views[i]["port"])
		votes[hp]++
		p.Sentinels = append(p.Sentinels, n.Name)
		said = append(said, n.Name+" says "+hp)
		if ms, err := strconv.Atoi(views[i]["failover-timeout"]); err == nil {
			p.FailoverTimeout = max(p.FailoverTimeout, time.Duration(ms)*time.Millisecond)
		}
	}
	for hp, v := range votes {
		if 2*v <= len(r.c.Nodes) {
			continue
		}
		if n, ok := r.byAddr(hp); ok {
			p.why = fmt.Sprintf("%d of %d sentinels name %s", v, len(r.c.Nodes), n.Name)
			return n, nil
		}
		return livemaster.Node{}, fmt.Errorf("%w: %d of %d sentinels name %s, which is no node of the inventory", ErrRefused, v, len(r.c.Nodes), hp)
	}
	return livemaster.Node{}, fmt.Errorf("%w: no majority of the %d sentinels names a master (%s)", ErrRefused, len(r.c.Nodes), strings.Join(said, "; "))
}

func (r *runner) byAddr(hp string) (livemaster.Node, bool) {
	for _, n := range r.c.Nodes {
		if slices.Contains(n.Addrs, hp) {
			return n, true
		}
	}
	return livemaster.Node{}, false
}

func (r *runner) byName(name string) (livemaster.Node, bool) {
	for _, n := range r.c.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return livemaster.Node{}, false
}

// replicas reads every other node: the master's view of it (listed, lag)
// first, as a stopped replica cannot speak for itself, then its own INFO
// (a fresher lag) and replica-priority.
func (r *runner) replicas(ctx context.Context, master livemaster.Node, mi redisinfo.Fields, offset int64) []*node {
	var out []*node
	for _, n := range r.c.Nodes {
		if n.Name == master.Name {
			continue
		}
		out = append(out, &node{Node: n, lag: -1})
	}
	// slaveN:ip=...,port=...,state=online,offset=...,lag=...
	for k, v := range mi {
		if !strings.HasPrefix(k, "slave") || !strings.Contains(v, "ip=") {
			continue
		}
		kv := map[string]string{}
		for part := range strings.SplitSeq(v, ",") {
			a, b, _ := strings.Cut(part, "=")
			kv[a] = b
		}
		hp := net.JoinHostPort(kv["ip"], kv["port"])
		for _, n := range out {
			if slices.Contains(n.Addrs, hp) && kv["state"] == "online" {
				n.onMaster = true
				if off, err := strconv.ParseInt(kv["offset"], 10, 64); err == nil {
					n.lag = offset - off
				}
			}
		}
	}
	var wg sync.WaitGroup
	for _, n := range out {
		wg.Go(func() {
			n.info, n.err = r.info(ctx, n.Name)
			if n.err == nil {
				// Its own offset is fresher than the master's view of it
				// (acknowledged once a second); read after the master's,
				// it can be ahead.
				if off, err := strconv.ParseInt(n.info["slave_repl_offset"], 10, 64); err == nil && n.onMaster {
					n.lag = max(offset-off, 0)
				}
				n.priority, n.err = r.priority(ctx, n.Name)
			}
		})
	}
	wg.Wait()
	return out
}

// choose checks --to, or picks the mirror when it passes every check, else
// the eligible replica with the least lag (then the strongest priority,
// then the name).
func (r *runner) choose(nodes []*node, p *Plan) (*node, error) {
	if r.o.To != "" {
		if _, ok := r.byName(r.o.To); !ok {
			return nil, fmt.Errorf("%w: %s is no data node of the inventory", ErrRefused, r.o.To)
		}
		if r.o.To == p.Master {
			return nil, fmt.Errorf("%w: %s is already the master (%s)", ErrRefused, r.o.To, p.why)
		}
		for _, n := range nodes {
			if n.Name == r.o.To {
				checks, err := r.eligible(n, p.Master)
				p.Checks = append(p.Checks, checks...)
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrRefused, err)
				}
				return n, nil
			}
		}
	}
	var ok []*node
	var why []string
	for _, n := range nodes {
		if _, err := r.eligible(n, p.Master); err != nil {
			why = append(why, err.Error())
			continue
		}
		if n.Role == inventory.RoleMirror {
			p.Checks, _ = r.eligible(n, p.Master)
			return n, nil
		}
		ok = append(ok, n)
	}
	if len(ok) == 0 {
		return nil, fmt.Errorf("%w: no replica can take over: %s", ErrRefused, strings.Join(why, "; "))
	}
	slices.SortStableFunc(ok, func(a, b *node) int {
		return cmp.Or(cmp.Compare(a.lag, b.lag), cmp.Compare(a.priority, b.priority), cmp.Compare(a.Name, b.Name))
	})
	p.Checks, _ = r.eligible(ok[0], p.Master)
	return ok[0], nil
}

// eligible lists the checks on n as a target and the first that failed.
func (r *runner) eligible(n *node, master string) ([]Check, error) {
	var checks []Check
	var first error
	add := func(what string, ok bool, got string) {
		checks = append(checks, Check{What: n.Name + " " + what, OK: ok, Got: got})
		if !ok && first == nil {
			first = fmt.Errorf("%s %s: %s", n.Name, what, got)
		}
	}
	add("is an online replica of "+master+" (master's INFO)", n.onMaster, map[bool]string{true: "listed online", false: "not listed online"}[n.onMaster])
	if n.onMaster {
		add(fmt.Sprintf("lags at most %d bytes", r.o.MaxLag), n.lag >= 0 && n.lag <= r.o.MaxLag, fmt.Sprintf("%d bytes behind", n.lag))
	}
	if n.err != nil {
		add("answers", false, n.err.Error())
		return checks, first
	}
	mh := net.JoinHostPort(n.info["master_host"], n.info["master_port"])
	follows := false
	if m, ok := r.byName(master); ok {
		follows = slices.Contains(m.Addrs, mh)
	}
	add("follows "+master+" with the link up", n.info.LinkUp() && follows,
		fmt.Sprintf("role:%s master %s link:%s", n.info["role"], mh, n.info["master_link_status"]))
	add("has a non-zero replica-priority", n.priority != 0, "replica-priority "+strconv.Itoa(n.priority))
	return checks, first
}

// info is INFO replication of node's Redis, bounded by CallTimeout.
func (r *runner) info(ctx context.Context, name string) (redisinfo.Fields, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.CallTimeout)
	defer cancel()
	v, err := r.a.Redis(ctx, name, "INFO", "replication")
	if err != nil {
		return nil, err
	}
	s, err := asString(v)
	if err != nil {
		return nil, fmt.Errorf("INFO: %w", err)
	}
	return redisinfo.Parse(s), nil
}

func (r *runner) priority(ctx context.Context, name string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.CallTimeout)
	defer cancel()
	v, err := r.a.Redis(ctx, name, "CONFIG", "GET", "replica-priority")
	if err != nil {
		return 0, err
	}
	kv, err := asPairs(v)
	if err != nil {
		return 0, fmt.Errorf("CONFIG GET replica-priority: %w", err)
	}
	return strconv.Atoi(kv["replica-priority"])
}
