package switchover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// switchover carries out p and returns how long writes were paused.
func (r *runner) switchover(ctx context.Context, p *Plan) (time.Duration, error) {
	// Priorities go back even when ctx is cancelled half-way.
	defer r.restorePriorities(context.WithoutCancel(ctx), p)
	if err := r.setPriorities(ctx, p); err != nil {
		return 0, err
	}

	r.say("2. pausing writes on %s", p.Master)
	t0 := r.o.Now()
	stop, err := r.pause(ctx, p.Master)
	if err != nil {
		return 0, err
	}
	resumed := false
	resume := func() time.Duration {
		if resumed {
			return 0
		}
		resumed = true
		stop()
		if _, err := r.do(context.WithoutCancel(ctx), p.Master, "CLIENT", "UNPAUSE"); err != nil {
			r.say("   CLIENT UNPAUSE: %v (the pause ends by itself within %s)", err, r.o.Pause)
		}
		d := r.o.Now().Sub(t0)
		r.say("   writes resumed on %s after %s", p.Master, d.Round(time.Millisecond))
		return d
	}
	defer resume()

	r.say("3. waiting until %s has %s's replication offset", p.Target, p.Master)
	if err := r.catchUp(ctx, p); err != nil {
		return resume(), fmt.Errorf("%s did not catch up with %s while writes were paused (nothing switched): %w", p.Target, p.Master, err)
	}

	if err := r.sentinelFailover(ctx, p); err != nil {
		return resume(), err
	}

	r.say("5. waiting until %s is master and a majority of sentinels name it", p.Target)
	// A failover under way is seen through even if the caller gives up:
	// resuming writes on the old master while a sentinel may still promote
	// another node would lose them.
	ctx = context.WithoutCancel(ctx)
	promoted, werr := r.waitPromoted(ctx, p)
	newMaster := p.Target
	if !promoted {
		// waitPromoted waited past the sentinels' failover-timeout: no
		// sentinel promotes the target now. If they promoted another
		// node, the old master must follow it before writes resume.
		named, _, said := r.majority(ctx)
		if named == "" || named == p.Master {
			return resume(), fmt.Errorf("%s was not promoted (%s stays master; sentinels: %s): %w", p.Target, p.Master, strings.Join(said, "; "), werr)
		}
		r.say("   the sentinels promoted %s, not %s", named, p.Target)
		newMaster = named
		werr = fmt.Errorf("the sentinels promoted %s instead of %s: %w", named, p.Target, werr)
	}

	r.say("6. making %s a replica of %s before writes resume", p.Master, newMaster)
	host, port := r.addr(newMaster)
	_, derr := r.do(context.WithoutCancel(ctx), p.Master, "REPLICAOF", host, port)
	if derr == nil {
		r.rewrite(ctx, p.Master)
	}
	d := resume()
	if derr != nil {
		// Writes held back now land on the old master: say so loudly.
		return d, fmt.Errorf("%s is master but %s could not be made its replica: %w", newMaster, p.Master, derr)
	}
	if werr != nil {
		return d, fmt.Errorf("%s is master, but: %w", newMaster, werr)
	}
	r.waitFollows(ctx, p)
	return d, nil
}

// setPriorities applies p.Temporary and waits until every answering
// sentinel reads it, so SENTINEL FAILOVER picks the target.
func (r *runner) setPriorities(ctx context.Context, p *Plan) error {
	r.say("1. making %s Sentinel's first choice", p.Target)
	for n, v := range p.Temporary {
		if _, err := r.do(ctx, n, "CONFIG", "SET", "replica-priority", strconv.Itoa(v)); err != nil {
			return err
		}
		r.say("   %s replica-priority %d → %d", n, p.Priority[n], v)
	}
	if len(p.Temporary) == 0 {
		return nil
	}
	err := poll(ctx, r.o.SentinelsSee, func(ctx context.Context) error {
		for _, s := range p.Sentinels {
			if err := r.sentinelSees(ctx, s, p.Temporary); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("the sentinels did not read the new replica-priority: %w", err)
	}
	r.say("   every answering sentinel (%s) sees it", strings.Join(p.Sentinels, ", "))
	return nil
}

func (r *runner) sentinelSees(ctx context.Context, s string, want map[string]int) error {
	v, err := r.sentinel(ctx, s, "SENTINEL", "REPLICAS", r.c.Name)
	if err != nil {
		return err
	}
	l, err := asList(v)
	if err != nil {
		return err
	}
	seen := map[string]string{}
	for _, e := range l {
		kv, err := asPairs(e)
		if err != nil {
			return err
		}
		if n, ok := r.byAddr(net.JoinHostPort(kv["ip"], kv["port"])); ok {
			seen[n.Name] = kv["slave-priority"]
		}
	}
	for n, p := range want {
		if seen[n] != strconv.Itoa(p) {
			return fmt.Errorf("sentinel on %s reads replica-priority %q for %s, want %d", s, seen[n], n, p)
		}
	}
	return nil
}

// restorePriorities puts back what setPriorities changed and rewrites the
// nodes' redis.conf, where Sentinel's own CONFIG REWRITE during the
// failover may have saved the temporary values.
func (r *runner) restorePriorities(ctx context.Context, p *Plan) {
	if len(p.Temporary) == 0 {
		return
	}
	r.say("7. putting replica-priority back")
	for n := range p.Temporary {
		if _, err := r.do(ctx, n, "CONFIG", "SET", "replica-priority", strconv.Itoa(p.Priority[n])); err != nil {
			r.say("   FAILED: %v: set replica-priority %d on %s by hand", err, p.Priority[n], n)
			continue
		}
		r.rewrite(ctx, n)
		r.say("   %s replica-priority %d", n, p.Priority[n])
	}
}

// rewrite saves the running configuration to redis.conf, as Sentinel does
// after it reconfigures a node; a server without a file has nothing to save.
func (r *runner) rewrite(ctx context.Context, n string) {
	_, err := r.do(ctx, n, "CONFIG", "REWRITE")
	if err != nil && !strings.Contains(err.Error(), "without a config file") {
		r.say("   CONFIG REWRITE on %s: %v", n, err)
	}
}

// pause starts CLIENT PAUSE WRITE on master and renews it until stop, so a
// slow step never lets writes through early, and a dead counterctl does
// not hold them for longer than one Pause.
func (r *runner) pause(ctx context.Context, master string) (stop func(), err error) {
	ms := strconv.FormatInt(r.o.Pause.Milliseconds(), 10)
	if _, err := r.do(ctx, master, "CLIENT", "PAUSE", ms, "WRITE"); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	// Renewals outlive a cancelled ctx: once the failover is asked for,
	// the pause must hold until the old master is demoted; stop ends them.
	ctx = context.WithoutCancel(ctx)
	wg.Go(func() {
		t := time.NewTicker(r.o.Pause / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if _, err := r.do(ctx, master, "CLIENT", "PAUSE", ms, "WRITE"); err != nil {
					r.say("   renewing the pause: %v", err)
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }, nil
}

func (r *runner) catchUp(ctx context.Context, p *Plan) error {
	var mo, to int64
	err := poll(ctx, r.o.CatchUp, func(ctx context.Context) error {
		mi, err := r.info(ctx, p.Master)
		if err != nil {
			return err
		}
		ti, err := r.info(ctx, p.Target)
		if err != nil {
			return err
		}
		mo, _ = strconv.ParseInt(mi["master_repl_offset"], 10, 64)
		to, _ = strconv.ParseInt(ti["slave_repl_offset"], 10, 64)
		if !ti.LinkUp() || to < mo {
			return fmt.Errorf("%s at offset %d, %s at %d (link %s)", p.Target, to, p.Master, mo, ti["master_link_status"])
		}
		return nil
	})
	if err == nil {
		r.say("   %s at offset %d = %s's", p.Target, to, p.Master)
	}
	return err
}

// sentinelFailover asks the first answering sentinel to fail over.
func (r *runner) sentinelFailover(ctx context.Context, p *Plan) error {
	var errs []error
	for _, s := range p.Sentinels {
		r.say("4. SENTINEL FAILOVER %s on the sentinel of %s", r.c.Name, s)
		_, err := r.sentinel(ctx, s, "SENTINEL", "FAILOVER", r.c.Name)
		if err == nil {
			return nil
		}
		if strings.Contains(err.Error(), "INPROG") {
			// A failover already runs (the pause can make the master look
			// down): it picks the target too, by the same priorities.
			r.say("   a failover is already in progress; waiting for it")
			return nil
		}
		errs = append(errs, err)
		// A sentinel that answers with a refusal (NOGOODSLAVE) speaks
		// for the cluster: asking another would race it.
		if !isNetErr(err) {
			break
		}
	}
	return fmt.Errorf("SENTINEL FAILOVER (nothing switched): %w", errors.Join(errs...))
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

// waitPromoted waits until the target says role:master and more than half
// of all sentinels name it. promoted reports the first even when the
// second did not happen in time. It waits past the sentinels'
// failover-timeout, after which no sentinel promotes the target any more.
func (r *runner) waitPromoted(ctx context.Context, p *Plan) (promoted bool, err error) {
	within := p.FailoverTimeout + 2*time.Second
	if p.FailoverTimeout == 0 {
		within = 3 * time.Minute // Sentinel's default failover-timeout
	}
	err = poll(ctx, within, func(ctx context.Context) error {
		ti, err := r.info(ctx, p.Target)
		if err != nil {
			return err
		}
		if ti["role"] != "master" {
			return fmt.Errorf("%s says role:%s", p.Target, ti["role"])
		}
		promoted = true
		named, votes, said := r.majority(ctx)
		if named != p.Target {
			return fmt.Errorf("%d of %d sentinels name %s: %s", votes[p.Target], len(r.c.Nodes), p.Target, strings.Join(said, "; "))
		}
		r.say("   %s is master; %d of %d sentinels name it", p.Target, votes[p.Target], len(r.c.Nodes))
		return nil
	})
	return promoted, err
}

// majority asks every sentinel for the master: named is the node more
// than half of all sentinels name, "" if none; said what the others said.
func (r *runner) majority(ctx context.Context) (named string, votes map[string]int, said []string) {
	votes = map[string]int{}
	for _, n := range r.c.Nodes {
		v, err := r.sentinel(ctx, n.Name, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", r.c.Name)
		if err != nil {
			said = append(said, err.Error())
			continue
		}
		hp, err := asList(v)
		if err != nil || len(hp) != 2 {
			said = append(said, fmt.Sprintf("sentinel on %s: reply %v", n.Name, v))
			continue
		}
		h, _ := asString(hp[0])
		pt, _ := asString(hp[1])
		m, ok := r.byAddr(net.JoinHostPort(h, pt))
		if !ok {
			said = append(said, fmt.Sprintf("sentinel on %s names %s, no node of the inventory", n.Name, net.JoinHostPort(h, pt)))
			continue
		}
		votes[m.Name]++
		said = append(said, fmt.Sprintf("sentinel on %s names %s", n.Name, m.Name))
	}
	for name, v := range votes {
		if 2*v > len(r.c.Nodes) {
			return name, votes, said
		}
	}
	return "", votes, said
}

// waitFollows reports when the old master has synced from the new one.
func (r *runner) waitFollows(ctx context.Context, p *Plan) {
	err := poll(ctx, r.o.CatchUp, func(ctx context.Context) error {
		f, err := r.info(ctx, p.Master)
		if err != nil {
			return err
		}
		if !f.LinkUp() {
			return fmt.Errorf("%s: role:%s link:%s", p.Master, f["role"], f["master_link_status"])
		}
		return nil
	})
	if err != nil {
		r.say("   %s not yet in sync with %s: %v", p.Master, p.Target, err)
		return
	}
	r.say("   %s replicates from %s, link up", p.Master, p.Target)
}
