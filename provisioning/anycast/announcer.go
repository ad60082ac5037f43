package anycast

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Router is what the announcer tells: announce the /32 or withdraw it.
type Router interface {
	Announce(ctx context.Context, on bool) error
}

// BirdRouter toggles a BIRD static protocol.
type BirdRouter struct {
	Bird     Bird
	Protocol string
}

// Announce enables (on) or disables the protocol.
func (r BirdRouter) Announce(ctx context.Context, on bool) error {
	return r.Bird.SetProtocol(ctx, r.Protocol, on)
}

// Config is one announcer.
type Config struct {
	ReadyzURL string   // the local counterd's /readyz
	PeerURLs  []string // the other serving nodes' /readyz, for the guard
	Counts    Counts
	// MinPeersReady: how many other nodes must be ready for an unhealthy
	// but answering node to withdraw (the guard).
	MinPeersReady int
	Interval      time.Duration // between checks
	Timeout       time.Duration // per HTTP check
	Router        Router
	Client        *http.Client // default: a client with no proxy and Timeout
	Logger        *slog.Logger
}

// Validate says what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.ReadyzURL == "" {
		errs = append(errs, errors.New("no /readyz URL"))
	}
	if err := c.Counts.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MinPeersReady < 0 {
		errs = append(errs, fmt.Errorf("min peers ready %d is negative", c.MinPeersReady))
	}
	if c.Interval <= 0 || c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("interval %s and timeout %s must be positive", c.Interval, c.Timeout))
	}
	if c.Router == nil {
		errs = append(errs, errors.New("no router to announce to"))
	}
	return errors.Join(errs...)
}

// Announcer checks and announces; Step is one round, Run loops.
type Announcer struct {
	cfg     Config
	tracker *Tracker
	client  *http.Client
	log     *slog.Logger
	last    Decision
}

// New checks cfg and returns an announcer in state Unknown.
func New(cfg Config) (*Announcer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("anycast announcer: %w", err)
	}
	client := cfg.Client
	if client == nil {
		// No proxy from the environment: these are the node's own and its
		// peers' addresses. One kept connection: a check a second need not
		// pay a handshake each; a stopped counterd closes it.
		client = &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Announcer{cfg: cfg, tracker: NewTracker(cfg.Counts), client: client, log: log}, nil
}

// Run checks every Interval until ctx ends. BIRD is told the decision on
// every round, not only on a change, so a BIRD restarted with the protocol
// disabled (as provisioned) is put right within one interval. On return
// the announcement is left as it is: stopping the announcer (an upgrade)
// must not withdraw a healthy node; a stopped BIRD withdraws by itself.
func (a *Announcer) Run(ctx context.Context) error {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		if err := a.Step(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("anycast: tell the router", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step does one round: check, decide, tell the router. It returns the
// router's error; a failed check is a result, not an error.
func (a *Announcer) Step(ctx context.Context) error {
	h := a.check(ctx, a.cfg.ReadyzURL)
	s := a.tracker.Observe(h == Ready)
	peers := 0
	if NeedPeers(s, h) {
		peers = a.peersReady(ctx)
	}
	d := Decide(s, h, peers, a.cfg.MinPeersReady)
	if d != a.last {
		a.log.Info("anycast", "announce", d.Announce, "known", d.Known, "reason", d.Reason, "check", h.String())
		a.last = d
	}
	if !d.Known {
		return nil
	}
	return a.cfg.Router.Announce(ctx, d.Announce)
}

// check asks one /readyz.
func (a *Announcer) check(ctx context.Context, url string) Health {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Down
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return Down
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return Ready
	case resp.StatusCode == http.StatusServiceUnavailable:
		return Degraded
	}
	// Anything else (a 404 from another program on the port) is not counterd.
	return Down
}

// peersReady asks every peer at once and counts the ready ones.
func (a *Announcer) peersReady(ctx context.Context) int {
	var (
		mu sync.Mutex
		n  int
		wg sync.WaitGroup
	)
	for _, u := range a.cfg.PeerURLs {
		wg.Go(func() {
			if a.check(ctx, u) == Ready {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return n
}
