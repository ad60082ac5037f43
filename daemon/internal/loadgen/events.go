package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"counter/daemon/store"
)

type eventsOptions struct {
	*common
	clients, rounds, pid int
}

type sample struct {
	value int64
	at    time.Time
}

// sseClient holds one /events stream and what it received.
type sseClient struct {
	last atomic.Int64
	mu   sync.Mutex
	seen []sample
}

func (c *sseClient) follow(ctx context.Context, hc *http.Client, url string, connected chan<- error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		connected <- err
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		connected <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		connected <- fmt.Errorf("GET /events: %s", resp.Status)
		return
	}
	connected <- nil
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(data), 10, 64)
		if err != nil {
			continue
		}
		now := time.Now()
		c.mu.Lock()
		c.seen = append(c.seen, sample{v, now})
		c.mu.Unlock()
		c.last.Store(v)
	}
}

// firstAtLeast is when the client first saw a value >= v.
func (c *sseClient) firstAtLeast(v int64) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.seen {
		if s.value >= v {
			return s.at, true
		}
	}
	return time.Time{}, false
}

func runEvents(ctx context.Context, o eventsOptions, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := store.Open(ctx, store.Options{LocalURL: o.redis, Hash: cheapHash, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}}
	clients := make([]*sseClient, o.clients)
	connected := make(chan error, o.clients)
	start := time.Now()
	// One connection at a time: a burst of 10,000 dials overflows the listen backlog.
	for i := range clients {
		clients[i] = &sseClient{}
		clients[i].last.Store(-1)
		go clients[i].follow(ctx, hc, o.url+"/events", connected)
		if err := <-connected; err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
	}
	fmt.Fprintf(stdout, "events: %d clients connected in %s\n", o.clients, time.Since(start).Round(time.Millisecond))

	var lat []time.Duration
	for r := range o.rounds {
		login := fmt.Sprintf("events-%d-%d", time.Now().UnixNano(), r)
		if err := st.Register(ctx, login, "bench-password"); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		t0 := time.Now()
		p, err := st.IncrementLogin(ctx, login)
		if err != nil {
			return fmt.Errorf("increment: %w", err)
		}
		v := p.Value
		if err := waitAll(ctx, clients, v, 10*time.Second); err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		for _, c := range clients {
			at, _ := c.firstAtLeast(v)
			lat = append(lat, at.Sub(t0))
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(stdout, "events clients=%d rounds=%d deliveries=%d\n", o.clients, o.rounds, len(lat))
	fmt.Fprintf(stdout, "events_p50_ms=%.1f p99_ms=%.1f max_ms=%.1f %s\n",
		ms(quantile(lat, 0.50)), ms(quantile(lat, 0.99)), ms(lat[len(lat)-1]), rss(o.pid))
	return nil
}

// waitAll polls until every client has seen v, or the deadline passes.
func waitAll(ctx context.Context, clients []*sseClient, v int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		missing := 0
		for _, c := range clients {
			if c.last.Load() < v {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d clients never saw value %d", missing, len(clients), v)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// rss reports the server's resident and peak memory from /proc.
func rss(pid int) string {
	if pid == 0 {
		return ""
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "rss=unknown"
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, k := range []string{"VmRSS:", "VmHWM:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				out = append(out, fmt.Sprintf("%s_mb=%.0f", strings.ToLower(strings.TrimSuffix(k, ":")), float64(kb)/1024))
			}
		}
	}
	return strings.Join(out, " ")
}
