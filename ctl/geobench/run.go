package geobench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"counter/ctl/lab"
	"counter/internal/netnsdir"
	"counter/provisioning/inventory"
)

// Counts is how much one run measures per continent.
type Counts struct {
	Loads      int           // page loads of each kind
	Presses    int           // presses, each by a new user
	PressEvery time.Duration // between a probe's registrations
	PingEvery  time.Duration // between ICMP echoes to the probe's node, the lab's own round trip
	Run        time.Duration // longest measuring time
	BgRate     float64       // background reads/s over all nodes
}

// Full and Quick are the two run sizes. Presses are paced under counterd's
// limit of 30 registrations a minute per client address (attemptsPerAddr):
// each continent's users all come from its one client address.
var (
	Full  = Counts{Loads: 200, Presses: 25, PressEvery: 2200 * time.Millisecond, PingEvery: 50 * time.Millisecond, Run: 75 * time.Second, BgRate: 2100}
	Quick = Counts{Loads: 20, Presses: 4, PressEvery: time.Second, PingEvery: 50 * time.Millisecond, Run: 15 * time.Second, BgRate: 2100}
)

// Runner runs one probe per continent in the lab's client namespaces.
type Runner struct {
	StateDir string
	Exe      string // the admin's counterctl, run as `geobench-client` in each namespace
	Counts   Counts
	Log      *slog.Logger
}

// Plan reads the lab and decides what each continent's probe does.
func (r *Runner) Plan(ctx context.Context) (Geometry, map[string]ProbeConfig, string, error) {
	st, err := lab.LoadState(r.StateDir)
	if err != nil {
		return Geometry{}, nil, "", err
	}
	inv, err := inventory.Load(filepath.Join(r.StateDir, "inventory.yaml"))
	if err != nil {
		return Geometry{}, nil, "", err
	}
	rtt, err := lab.DefaultRTT()
	if err != nil {
		return Geometry{}, nil, "", err
	}
	g := Geometry{RTT: rtt}
	nodes := map[string][]lab.Member{}
	var all []lab.Member
	for _, m := range st.Plan.OfKind(lab.KindNode) {
		nodes[m.Continent] = append(nodes[m.Continent], m)
		all = append(all, m)
		if m.Role == "master" {
			g.Master = m
		}
	}
	if !g.Master.Address.IsValid() {
		return Geometry{}, nil, "", fmt.Errorf("the lab has no master node")
	}
	for _, c := range st.Plan.OfKind(lab.KindClient) {
		ns := nodes[c.Continent]
		if len(ns) == 0 {
			return Geometry{}, nil, "", fmt.Errorf("%s: no node on continent %s", c.Name, c.Continent)
		}
		g.Sites = append(g.Sites, Site{Continent: c.Continent, Client: c, Node: ns[0]})
	}
	if len(g.Sites) < 2 {
		return Geometry{}, nil, "", fmt.Errorf("the lab has %d client namespaces; propagation needs two or more", len(g.Sites))
	}

	byName, resolver := "", ""
	if inv.DNS.Service != "" {
		resolver = r.resolver(ctx, &g, st.Plan, inv)
		if resolver != "" {
			byName = "<continent>." + inv.DNS.Service + "." + strings.TrimSuffix(inv.DNS.Zone, ".")
		}
	}

	login := make([]byte, 4)
	_, _ = rand.Read(login)
	start := time.Now().Add(5 * time.Second)
	c := r.Counts
	cfgs := map[string]ProbeConfig{}
	for i, s := range g.Sites {
		// Every node takes an equal share of the reads: a probe sends to its
		// own continent's nodes, so its rate is its nodes' share.
		share := c.BgRate * float64(len(nodes[s.Continent])) / float64(len(all))
		var bg []string
		for _, n := range nodes[s.Continent] {
			bg = append(bg, "https://"+n.Address.String())
		}
		cfg := ProbeConfig{Continent: s.Continent, Node: s.Node.Name, BaseURL: "https://" + s.Node.Address.String(),
			NodeAddr: s.Node.Address.String(), PingEvery: c.PingEvery, CAFile: st.ClientCAFile(), BgURLs: bg, BgRate: share, Loads: c.Loads, Presses: c.Presses,
			PressEvery: c.PressEvery, Login: "gb" + hex.EncodeToString(login) + fmt.Sprint(i), StartAt: start,
			Run: c.Run, Grace: 5 * time.Second}
		if resolver != "" {
			cfg.BaseURL = "https://" + s.Continent + "." + inv.DNS.Service + "." + strings.TrimSuffix(inv.DNS.Zone, ".")
			cfg.Resolver = resolver
		}
		cfgs[s.Continent] = cfg
	}
	return g, cfgs, byName, nil
}

// resolver picks the DNS server the probes ask, "" for none (pages by
// address), and notes it in g: the anycast address when the nodes serve
// the zone as secondaries and answer there (each client then asks its
// nearest node), else the lab's DNS server.
func (r *Runner) resolver(ctx context.Context, g *Geometry, p *lab.Plan, inv *inventory.Inventory) string {
	if a := inv.Anycast.Address; inv.DNS.Secondary && a.IsValid() {
		server := netip.AddrPortFrom(a, 53).String()
		if servesNames(ctx, g.Sites, inv.DNS.Service, inv.DNS.Zone, fromClient(server)) {
			g.NearestDNS = true
			return server
		}
		r.Log.Warn("the nodes' secondaries do not serve the names on the anycast address; trying the lab's DNS server", "address", server)
	}
	dns := p.OfKind(lab.KindDNS)
	if len(dns) != 1 {
		return ""
	}
	d := dns[0]
	server := netip.AddrPortFrom(d.Address, 53).String()
	if !servesNames(ctx, g.Sites, inv.DNS.Service, inv.DNS.Zone, fromHost(server)) {
		return ""
	}
	g.DNS = &d
	return server
}

// dialer opens the connection a lookup for site s goes over.
type dialer func(ctx context.Context, s Site, network string) (net.Conn, error)

// fromHost dials server from this process's network namespace.
func fromHost(server string) dialer {
	return func(ctx context.Context, _ Site, network string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, server)
	}
}

// fromClient dials server from the site's client namespace, where the
// probe will ask it: the anycast address leads to the node nearest that
// client, and from the host to nothing (it never leaks out of the lab's
// router namespace).
func fromClient(server string) dialer {
	return func(ctx context.Context, s Site, network string) (net.Conn, error) {
		var c net.Conn
		// A socket stays in the namespace it was made in.
		err := netnsdir.In(s.Client.Netns(), func() (err error) {
			c, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, server)
			return err
		})
		return c, err
	}
}

// servesNames reports whether every continent's service name resolves,
// over dial, to that continent's node, which is when pages can be loaded
// by name and still measure the continent's own node.
func servesNames(ctx context.Context, sites []Site, service, zone string, dial dialer) bool {
	for _, s := range sites {
		res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dial(ctx, s, network)
		}}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		addrs, err := res.LookupHost(ctx, s.Continent+"."+service+"."+zone)
		cancel()
		if err != nil || !slices.Contains(addrs, s.Node.Address.String()) {
			return false
		}
	}
	return true
}

// Probe runs every continent's probe at once, each in its client's
// namespace, and returns their results by continent.
func (r *Runner) Probe(ctx context.Context, cfgs map[string]ProbeConfig, sites []Site) (map[string]ProbeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Counts.Run+2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var errs []error
	out := map[string]ProbeResult{}
	var wg sync.WaitGroup
	for _, s := range sites {
		cfg := cfgs[s.Continent]
		in, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", s.Client.Netns(), r.Exe, "geobench-client")
		var stdout, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
		if err := cmd.Start(); err != nil {
			cancel()
			wg.Wait()
			return nil, fmt.Errorf("start %s's probe: %w", s.Continent, err)
		}
		r.Log.Info("probe started", "continent", s.Continent, "netns", s.Client.Netns(), "pid", cmd.Process.Pid, "url", cfg.BaseURL)
		wg.Go(func() {
			err := cmd.Wait()
			var res ProbeResult
			if err == nil {
				err = json.Unmarshal(stdout.Bytes(), &res)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s's probe (pid %d): %w: %s", s.Continent, cmd.Process.Pid, err, strings.TrimSpace(stderr.String())))
				return
			}
			out[s.Continent] = res
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return out, nil
}
