package geobench

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// maxInFlight bounds the background requests waiting for an answer: past
// it a request is skipped (and counted), so a slow node cannot make the
// probe pile up goroutines; the load stays bounded in count and time.
const maxInFlight = 256

// background sends GET / at BgRate per second, round robin over BgURLs on
// one kept-alive transport per node, until ctx ends.
func (p *Probe) background(ctx context.Context) BgStats {
	var st BgStats
	if p.cfg.BgRate <= 0 || len(p.cfg.BgURLs) == 0 {
		return st
	}
	clients := make([]*http.Client, len(p.cfg.BgURLs))
	for i := range clients {
		tr := p.transport(nil)
		defer tr.CloseIdleConnections()
		clients[i] = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxInFlight)
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	start, owed, next := time.Now(), 0.0, 0
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			// Open loop: what is due by now is sent, whatever the answers do.
			owed = p.cfg.BgRate*time.Since(start).Seconds() - float64(st.Sent+st.Skipped)
			for ; owed >= 1; owed-- {
				select {
				case sem <- struct{}{}:
				default:
					st.Skipped++
					continue
				}
				st.Sent++
				i := next % len(clients)
				next++
				wg.Go(func() {
					defer func() { <-sem }()
					ok := bgGet(ctx, clients[i], p.cfg.BgURLs[i]+"/")
					mu.Lock()
					if ok {
						st.OK++
					} else if ctx.Err() == nil {
						st.Failed++
					}
					mu.Unlock()
				})
			}
		}
	}
	st.Seconds = time.Since(start).Seconds()
	wg.Wait()
	return st
}

// bgGet loads url and reports whether it answered 200 in full.
func bgGet(ctx context.Context, c *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK
}
