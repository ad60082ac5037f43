package dnswatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"sync"
	"time"

	"counter/provisioning/anycast"
	"counter/provisioning/dnsupdate"
)

// MasterSource says which Redis (host:port) is master; an error when it
// cannot say with a quorum behind it.
type MasterSource interface {
	Master(ctx context.Context) (string, error)
}

// Checker says whether one node's /readyz answers 200.
type Checker func(ctx context.Context, url string) bool

// Options are a watcher's parts; zero fields take defaults.
type Options struct {
	Counts   anycast.Counts
	Interval time.Duration // between rounds
	Timeout  time.Duration // of one /readyz check
	// Resync publishes even when nothing changed, this often, so a zone
	// edited behind the watcher's back is put right.
	Resync  time.Duration
	Master  MasterSource
	Store   dnsupdate.Store
	Check   Checker // default: HTTP GET, 200 is ready
	Logger  *slog.Logger
	Now     func() time.Time
	Publish func(ctx context.Context, s dnsupdate.Store, d dnsupdate.Desired, log *slog.Logger) (dnsupdate.Plan, error)
}

// Watcher is one node's loop: Step is one round, Run repeats it.
type Watcher struct {
	cfg      Config
	opt      Options
	dist     Distances
	trackers map[string]*anycast.Tracker
	last     *dnsupdate.Desired // last published successfully
	lastAt   time.Time
	why      string // last stand-by reason logged
}

// New checks cfg and opt.
func New(cfg Config, opt Options) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Counts == (anycast.Counts{}) {
		opt.Counts = anycast.Counts{Rise: 3, Fall: 2}
	}
	if err := opt.Counts.Validate(); err != nil {
		return nil, err
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 1500 * time.Millisecond
	}
	if opt.Resync <= 0 {
		opt.Resync = time.Minute
	}
	if opt.Master == nil || opt.Store == nil {
		return nil, errors.New("dns-watch: no sentinel or no DNS server")
	}
	if opt.Check == nil {
		opt.Check = HTTPChecker(opt.Timeout)
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Publish == nil {
		opt.Publish = dnsupdate.Publish
	}
	w := &Watcher{cfg: cfg, opt: opt, dist: cfg.Distances(), trackers: map[string]*anycast.Tracker{}}
	for _, n := range cfg.Nodes {
		w.trackers[n.Name] = anycast.NewTracker(opt.Counts)
	}
	return w, nil
}

// HTTPChecker GETs the URL without a proxy; 200 is ready. It keeps one
// connection per node open between rounds: every node's watcher checks
// every node each second, and a new connection each time was 7 × 7 TCP
// handshakes and teardowns a second across the WAN, a tenth of the lab's
// packets. A kept connection proves as much: a dead or cut-off node misses
// the timeout, a stopped counterd closes it, and a failed check drops it.
func HTTPChecker(timeout time.Duration) Checker {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
	return func(ctx context.Context, url string) bool {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// Run does a round every Interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.opt.Interval)
	defer t.Stop()
	for {
		if err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.opt.Logger.Warn("dns-watch: publish", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step checks every node and the sentinel at once, decides, and publishes
// when the records to publish changed, the last publish failed, or Resync
// has passed.
func (w *Watcher) Step(ctx context.Context) error {
	ok := make(map[string]bool, len(w.cfg.Nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range w.cfg.Nodes {
		wg.Go(func() {
			r := w.opt.Check(ctx, n.Readyz)
			mu.Lock()
			ok[n.Name] = r
			mu.Unlock()
		})
	}
	var v View
	wg.Go(func() { v.MasterAddr, v.MasterErr = w.opt.Master.Master(ctx) })
	wg.Wait()
	v.States = map[string]anycast.State{}
	for _, n := range w.cfg.Nodes {
		before := w.trackers[n.Name].State()
		v.States[n.Name] = w.trackers[n.Name].Observe(ok[n.Name])
		if v.States[n.Name] != before {
			w.opt.Logger.Info("dns-watch: node", "node", n.Name, "state", v.States[n.Name].String())
		}
	}
	verdict := Decide(w.cfg, v)
	if !verdict.Act {
		if verdict.Why != w.why {
			w.opt.Logger.Info("dns-watch: " + verdict.Why)
			w.why = verdict.Why
		}
		// Whoever acts next publishes in full: do not trust our last one.
		w.last = nil
		return nil
	}
	w.why = ""
	d, err := dnsupdate.Want(w.cfg.Inventory(), verdict.Obs, w.dist)
	if err != nil {
		// Never an empty service name: keep what the server has.
		return fmt.Errorf("dns-watch: %w", err)
	}
	if w.last != nil && sameRecords(*w.last, d) && w.opt.Now().Sub(w.lastAt) < w.opt.Resync {
		return nil
	}
	p, err := w.opt.Publish(ctx, w.opt.Store, d, w.opt.Logger)
	if err != nil {
		w.last = nil
		return err
	}
	w.last, w.lastAt = &d, w.opt.Now()
	if !p.Empty() {
		w.opt.Logger.Info("dns-watch: published", "zone", p.Zone, "changes", len(p.Changes), "healthy", healthyNames(verdict.Obs), "master", verdict.Obs.Master)
	}
	return nil
}

func sameRecords(a, b dnsupdate.Desired) bool {
	return reflect.DeepEqual(a.Sets, b.Sets) && maps.Equal(a.Keep, b.Keep)
}

func healthyNames(o dnsupdate.Observation) []string {
	var out []string
	for n, ok := range o.Healthy {
		if ok {
			out = append(out, n)
		}
	}
	return out
}
