package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"counter/ctl/lab/wan"
)

// Up brings the lab up, or says so and changes nothing when it already is.
// A failure half-way removes what this run made.
func (l *Lab) Up(ctx context.Context) (err error) {
	if err := checkPath("--state-dir", l.StateDir); err != nil {
		return err
	}
	if err := checkPath("--cache-dir", l.CacheDir); err != nil {
		return err
	}
	start := time.Now()
	_, statErr := os.Stat(l.StateDir)
	madeDir := errors.Is(statErr, os.ErrNotExist)
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if st, err := l.load(); err == nil {
		return l.alreadyUp(ctx, st)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if _, err := os.Stat("/run/netns/" + routerNetns); err == nil {
		return fmt.Errorf("another lab is running on this machine (network namespace %s exists, not in %s); bring it down with `counterctl lab down --state-dir DIR` first", routerNetns, l.StateDir)
	}
	if err := checkOverlap(ctx, l.Subnet.Masked()); err != nil {
		return err
	}
	plan, err := NewPlan(l.Topology, l.Subnet)
	if err != nil {
		return err
	}
	if l.DNSSecondaries && !plan.Anycast.IsValid() {
		return fmt.Errorf("--dns-secondaries: subnet %s leaves no /24 for the anycast address the clients would ask; use a larger one", plan.Subnet)
	}
	mirror, err := HostMirror("/")
	if err != nil {
		return err
	}
	images := &Images{Dir: l.CacheDir, Mirror: mirror, Log: l.Log}
	base, err := images.Base(ctx)
	if err != nil {
		return err
	}
	knot, err := images.Layer(ctx, base, "knot")
	if err != nil {
		return err
	}

	st := newState(l.StateDir)
	st.Created.StateDir = madeDir
	st.Plan, st.Zone, st.DNSSecondaries = plan, l.Topology.Zone, l.DNSSecondaries
	st.TSIG = TSIG{Name: "counter-update.", Algorithm: "hmac-sha256"}
	for _, m := range plan.Containers() {
		st.Lowers[m.Name] = base
		if m.Kind == KindDNS {
			st.Lowers[m.Name] = base + ":" + knot
		}
	}
	if err := st.Save(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			l.Log.Error("lab up failed; removing what it made", "err", err)
			if derr := st.down(context.WithoutCancel(ctx)); derr != nil {
				err = errors.Join(err, fmt.Errorf("clean up: %w", derr))
			}
		}
	}()
	if err := l.writeFiles(st, knot); err != nil {
		return err
	}
	l.Log.Info("creating the lab network", "subnet", plan.Subnet)
	if err := st.setupRouter(ctx); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	for _, m := range plan.Members {
		if err := st.addMember(ctx, m); err != nil {
			return fmt.Errorf("network for %s: %w", m.Name, err)
		}
	}
	if err := st.writeClientResolvs(etcNetns); err != nil {
		return err
	}
	rtt, err := ParseRTT(strings.NewReader(string(defaultRTT)))
	if err != nil {
		return err
	}
	if err := st.routeDirect(ctx, rtt); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	if err := l.startRouter(ctx, st); err != nil {
		return err
	}
	if err := st.setupAnycast(ctx); err != nil {
		return fmt.Errorf("anycast routing: %w", err)
	}
	if err := l.startBird(ctx, st); err != nil {
		return err
	}
	l.Log.Info("booting containers", "count", len(plan.Containers()))
	for _, m := range plan.Containers() {
		if err := st.startContainer(m); err != nil {
			return err
		}
	}
	if err := waitAll(ctx, plan.Containers(), func(m Member) error {
		if err := waitSSH(ctx, m, 90*time.Second); err != nil {
			return fmt.Errorf("%w (console: %s)", err, st.path("nodes", m.Name, "console.log"))
		}
		return nil
	}); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("lab up interrupted: %w", ctx.Err())
		}
		return err
	}
	dns := plan.OfKind(KindDNS)[0]
	if err := waitDNS(ctx, netip.AddrPortFrom(dns.Address, 53), st.Zone, 60*time.Second); err != nil {
		return err
	}
	st.Ready = true
	if err := st.Save(); err != nil {
		return err
	}
	fmt.Fprintf(l.Out, "lab up in %s: %d nodes, dns %s, %d clients\n", time.Since(start).Round(100*time.Millisecond),
		len(plan.OfKind(KindNode)), dns.Address, len(plan.OfKind(KindClient)))
	if st.DNSSecondaries {
		fmt.Fprintf(l.Out, "clients resolve at %s (anycast: the nearest node, once provision has made it a secondary), then at %s\n",
			plan.Anycast, dns.Address)
	}
	l.printFiles(st)
	return nil
}

func (l *Lab) alreadyUp(ctx context.Context, st *State) error {
	if l.DNSSecondaries && !st.DNSSecondaries {
		return fmt.Errorf("the lab in %s is up without --dns-secondaries; `counterctl lab down` and up again to have them", l.StateDir)
	}
	var down []string
	for _, r := range st.Status(ctx) {
		if !r.Up {
			down = append(down, r.Member.Name)
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("the lab in %s is up but %s not: `counterctl lab start NAME` / `lab heal`, or `lab down` and up again", l.StateDir, strings.Join(down, ", "))
	}
	fmt.Fprintf(l.Out, "lab is already up in %s; nothing changed\n", l.StateDir)
	l.printFiles(st)
	return nil
}

func (l *Lab) printFiles(st *State) {
	fmt.Fprintf(l.Out, "inventory:   %s\nssh key:     %s\nknown_hosts: %s\ntsig key:    %s\nstate:       %s\n",
		st.InventoryFile(), st.KeyFile(), st.KnownHosts(), st.TSIGFile(), statePath(st.dir))
}

// labCluster is the lab inventory's cluster name.
const labCluster = "lab"

// writeFiles generates the lab's keys and secrets, the nodes' overlays and
// the inventory.
func (l *Lab) writeFiles(st *State, knotLayer string) error {
	for _, d := range []string{"ssh", "secrets", "pki"} {
		if err := os.MkdirAll(st.path(d), 0o700); err != nil {
			return err
		}
	}
	labKey, err := newSSHKey("counter-lab")
	if err != nil {
		return err
	}
	if err := labKey.writeKeyPair(st.KeyFile()); err != nil {
		return err
	}
	var known strings.Builder
	for _, m := range st.Plan.Containers() {
		hk, err := prepareUpper(st.upper(m.Name), m, labKey)
		if err != nil {
			return fmt.Errorf("overlay of %s: %w", m.Name, err)
		}
		fmt.Fprintf(&known, "%s %s", m.Address, hk.public)
	}
	if err := writeFile(st.KnownHosts(), []byte(known.String()), 0o644); err != nil {
		return err
	}
	secret, err := randomSecret(32)
	if err != nil {
		return err
	}
	st.TSIG.Secret = secret
	if err := writeFile(st.TSIGFile(), []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	dns := st.Plan.OfKind(KindDNS)[0]
	// Only nodes that will run a secondary are NOTIFYed: a provisioned node
	// without one drops port 53, and every NOTIFY to it would hold the
	// zone's updates until it timed out (see knotConfTmpl).
	var notify []Member
	if st.DNSSecondaries {
		notify = st.Plan.OfKind(KindNode)
	}
	if err := writeDNSConfig(st.upper(dns.Name), knotLayer, st.Zone, dns, st.TSIG, notify); err != nil {
		return err
	}
	for _, f := range []string{"redis-counterd.pass", "redis-replication.pass",
		"sentinel.pass", "sentinel-peer.pass", "sentinel-counterctl.pass"} {
		pw, err := randomSecret(24)
		if err != nil {
			return err
		}
		if err := writeFile(st.path("secrets", f), []byte(pw+"\n"), 0o600); err != nil {
			return err
		}
	}
	if err := st.writeClientTrust(labCluster, time.Now()); err != nil {
		return err
	}
	f, err := os.OpenFile(st.InventoryFile(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return WriteInventory(f, Inventory{
		Cluster: labCluster, Zone: st.Zone, DNSServer: netip.AddrPortFrom(dns.Address, 53),
		TSIG: st.TSIG, TSIGFile: "secrets/tsig.key",
		KeyFile: "ssh/id_ed25519", KnownHosts: "ssh/known_hosts",
		AdminNetwork: netip.PrefixFrom(st.Plan.HostIP, 32),
		CounterdPass: "secrets/redis-counterd.pass", ReplPass: "secrets/redis-replication.pass",
		SentinelPass: "secrets/sentinel.pass", SentinelPeerPass: "secrets/sentinel-peer.pass",
		SentinelAdminPass: "secrets/sentinel-counterctl.pass",
		PKIDir:            "pki/", Nodes: st.Plan.OfKind(KindNode), Anycast: st.Plan.Anycast,
		DNSSecondary: st.DNSSecondaries,
	})
}

// RouterConfig is the delay router's configuration for a plan: the one-way
// delay (half the RTT) of every pair of members that has one.
func RouterConfig(p *Plan, rtt *RTT) wan.Config {
	cfg := wan.Config{TUN: tunName, Anycast: AnycastRouting(p)}
	for i, a := range p.Members {
		for _, b := range p.Members[i+1:] {
			if d := rtt.PairRTT(a, b) / 2; d > 0 {
				cfg.Pairs = append(cfg.Pairs, wan.Pair{A: a.Address, B: b.Address, OneWay: wan.Duration(d)})
			}
		}
	}
	return cfg
}

// startRouter runs `counterctl lab router` inside the router namespace.
func (l *Lab) startRouter(ctx context.Context, st *State) error {
	rtt, err := ParseRTT(strings.NewReader(string(defaultRTT)))
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(RouterConfig(st.Plan, rtt), "", "  ")
	if err != nil {
		return err
	}
	cfgPath := st.path("wan.json")
	if err := writeFile(cfgPath, b, 0o644); err != nil {
		return err
	}
	// `ip netns exec` execs the router in place, so the pid is the router's.
	p, err := startDetached([]string{"ip", "netns", "exec", routerNetns, l.Exe, "lab", "router", "--config", cfgPath},
		st.path("wan.log"))
	if err != nil {
		return fmt.Errorf("delay router: %w", err)
	}
	st.Router = p
	if err := st.Save(); err != nil {
		return err
	}
	// The TUN has carrier once the router holds it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := run(ctx, "ip", "-n", routerNetns, "link", "show", tunName)
		if strings.Contains(out, "LOWER_UP") {
			return nil
		}
		if !p.Alive() || time.Now().After(deadline) {
			log, _ := os.ReadFile(st.path("wan.log"))
			return fmt.Errorf("delay router did not attach to %s: %s", tunName, lastLines(string(log), 5))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitAll runs fn for every member at once and joins the errors.
func waitAll(ctx context.Context, ms []Member, fn func(Member) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ms))
	for i, m := range ms {
		wg.Go(func() { errs[i] = fn(m) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
