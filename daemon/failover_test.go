package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// counterdOnCluster starts a full counterd reading from local and writing to
// the master c's sentinels name (TLS with a client certificate and the
// password, as provisioned); it drains when the test ends.
func counterdOnCluster(t *testing.T, c *redistest.Cluster, local *redistest.Server, edit ...func(*Config)) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Redis, cfg.Master = local.URL(), ""
	cfg.Sentinels, cfg.MasterName = strings.Join(c.SentinelAddrs(), ","), c.Name
	cfg.RedisCAFile, cfg.RedisCertFile, cfg.RedisKeyFile = local.CAFile(), local.CertFile(), local.KeyFile()
	for _, e := range edit {
		e(&cfg)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := r.Wait(); err != nil {
			t.Errorf("counterd drain: %v", err)
		}
	})
	return "http://" + r.Addr().String()
}

// pressAs posts /inc with the session token of a user written straight to Redis.
func pressAs(client *http.Client, base, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/inc", nil)
	if err != nil {
		return 0, "", err
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// eventValues follows base's /events and keeps the largest value seen.
type eventValues struct {
	mu  sync.Mutex
	max int64
	err error
}

func followEvents(t *testing.T, base string) *eventValues {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ev := &eventValues{max: -1}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		named := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				ev.mu.Lock()
				ev.err = err
				ev.mu.Unlock()
				return
			}
			switch v, isData := strings.CutPrefix(line, "data: "); {
			case strings.HasPrefix(line, "event: "):
				named = true
			case line == "\n":
				named = false
			case isData && !named:
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
					ev.mu.Lock()
					ev.max = max(ev.max, n)
					ev.mu.Unlock()
				}
			}
		}
	}()
	return ev
}

func (e *eventValues) seen() (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.max, e.err
}

// TestFailoverKeepsEveryAcknowledgedPress: presses go on through the kill of
// the master and the promotion of the mirror, without restarting counterd;
// every press answered 200 is in the new master, none counts twice, and the
// page's event stream, opened before the kill, shows the final value.
func TestFailoverKeepsEveryAcknowledgedPress(t *testing.T) {
	ca := testutil.NewTLS(t)
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{10, 100}},
		redistest.WithCA(ca), redistest.WithPassword("pw"))
	mirror, continental := c.Replicas[0], c.Replicas[1]
	base := counterdOnCluster(t, c, continental)

	const users = 300
	ctx := context.Background()
	cl := c.Master.Client()
	p := cl.Pipeline()
	for i := range users {
		login := fmt.Sprintf("u%03d", i)
		p.HSet(ctx, store.DefaultKeyPrefix+"user:"+login, "hash", "x")
		p.Set(ctx, store.DefaultKeyPrefix+"session:"+store.TokenHash("token-"+login), login, time.Hour)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Poll(t, 10*time.Second, "counterd ready", func(ctx context.Context) error {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	events := followEvents(t, base)

	var mu sync.Mutex
	acked := map[string]int64{}
	var ackedAfterKill int
	killed := false
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	const workers = 4
	for w := range workers {
		wg.Go(func() {
			for i := w; i < users; i += workers {
				login := fmt.Sprintf("u%03d", i)
				// A 503 (master down, or not known yet) is pressed again, as
				// the page does after Retry-After, until it is answered.
				err := testutil.WaitEvery(60*time.Second, 50*time.Millisecond, func(context.Context) error {
					code, body, err := pressAs(client, base, "token-"+login)
					switch {
					case err != nil:
						return err
					case code == http.StatusServiceUnavailable:
						return fmt.Errorf("%d %s", code, body)
					case code != http.StatusOK:
						return testutil.Stop(fmt.Errorf("press %s = %d %q", login, code, body))
					}
					v, err := strconv.ParseInt(body, 10, 64)
					if err != nil {
						return testutil.Stop(fmt.Errorf("press %s = %q: %w", login, body, err))
					}
					mu.Lock()
					defer mu.Unlock()
					acked[login] = v
					if killed {
						ackedAfterKill++
					}
					return nil
				})
				if err != nil {
					t.Errorf("press %s: %v", login, err)
					return
				}
			}
		})
	}
	testutil.Eventually(t, 60*time.Second, "100 presses acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 100
	})
	mu.Lock()
	killed = true
	mu.Unlock()
	old := c.Master
	old.Kill()
	wg.Wait()

	if got := c.WaitNewMaster(t, old, 30*time.Second); got != mirror {
		t.Fatalf("the sentinels promoted %s, want the mirror %s", got.Addr(), mirror.Addr())
	}
	t.Logf("%d presses acknowledged, %d of them after the kill", len(acked), ackedAfterKill)
	if ackedAfterKill == 0 {
		t.Errorf("no press acknowledged after the master was killed")
	}
	nc := mirror.Client()
	var lost []string
	for login := range acked {
		if err := nc.HGet(ctx, store.DefaultKeyPrefix+"user:"+login, store.FieldLastIncrement).Err(); err != nil {
			lost = append(lost, login)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d acknowledged presses missing on the new master: %v", len(lost), lost)
	}
	final, err := nc.Get(ctx, store.DefaultKeyPrefix+"value").Int64()
	if err != nil || final != int64(len(acked)) || len(acked) != users {
		t.Errorf("value on the new master = %d, %v; want %d (acknowledged %d of %d users, each once)", final, err, len(acked), len(acked), users)
	}
	testutil.Poll(t, 10*time.Second, "the event stream opened before the kill shows the final value", func(context.Context) error {
		v, err := events.seen()
		if err != nil {
			return testutil.Stop(fmt.Errorf("event stream ended: %w", err))
		}
		if v != final {
			return fmt.Errorf("largest event %d, want %d", v, final)
		}
		return nil
	})
}
