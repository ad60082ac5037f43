package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"counter/daemon/store"
)

type incOptions struct {
	*common
	users, conns int
}

// cheapHash keeps seeding 10,000 users to seconds; the stored hash is still argon2id.
var cheapHash = store.HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

// seedSessions registers n fresh users and returns one session token each.
func seedSessions(ctx context.Context, redisURL string, n int) ([]string, error) {
	st, err := store.Open(ctx, store.Options{LocalURL: redisURL, Hash: cheapHash, Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	tokens := make([]string, n)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				login := fmt.Sprintf("bench-%s-%d", run, i)
				if err := st.Register(ctx, login, "bench-password"); err != nil {
					errs <- fmt.Errorf("register %s: %w", login, err)
					return
				}
				tok, err := st.NewSession(ctx, login)
				if err != nil {
					errs <- fmt.Errorf("session %s: %w", login, err)
					return
				}
				tokens[i] = tok
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return tokens, nil
}

func runInc(ctx context.Context, o incOptions, stdout io.Writer) error {
	tokens, err := seedSessions(ctx, o.redis, o.users)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns},
	}
	next := make(chan string)
	go func() {
		defer close(next)
		for _, t := range tokens {
			select {
			case next <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu    sync.Mutex
		lat   []time.Duration
		codes = map[int]int{}
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range o.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tok := range next {
				code, d := postInc(ctx, client, o.url, o.cookie, tok)
				mu.Lock()
				codes[code]++
				if code == http.StatusOK {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	fmt.Fprintf(stdout, "inc users=%d conns=%d elapsed=%s codes=%v\n", o.users, o.conns, elapsed.Round(time.Millisecond), codes)
	fmt.Fprintf(stdout, "inc_rps=%.0f p50_ms=%.3f p99_ms=%.3f\n",
		float64(codes[http.StatusOK])/elapsed.Seconds(), ms(quantile(lat, 0.50)), ms(quantile(lat, 0.99)))
	if codes[http.StatusOK] != o.users {
		return fmt.Errorf("%d of %d increments succeeded", codes[http.StatusOK], o.users)
	}
	return nil
}

func postInc(ctx context.Context, c *http.Client, base, cookie, token string) (int, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/inc", nil)
	if err != nil {
		return 0, 0
	}
	req.AddCookie(&http.Cookie{Name: cookie, Value: token})
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return -1, 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0)
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
