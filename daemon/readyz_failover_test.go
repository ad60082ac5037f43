package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

func readyz(base string) (int, string, error) {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), err
}

// TestReadyzOnAReplicaDuringAMasterOutage: a replica cut off from a master
// the sentinels still see up goes unready after --max-staleness, as without
// sentinels; a replica whose master is dead for the sentinels too stays
// ready (nobody can write, its value is the latest), saying so.
func TestReadyzOnAReplicaDuringAMasterOutage(t *testing.T) {
	ca := testutil.NewTLS(t)
	// Priority 0: never promoted, so the dead master stays down for the sentinels.
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{0}},
		redistest.WithCA(ca), redistest.WithPassword("pw"))
	replica := c.Replicas[0]
	// Above the sentinels' down-after (1 s) plus their ping period (1 s):
	// they agree the master is down before the value is called old.
	const staleness = 5 * time.Second
	base := counterdOnCluster(t, c, replica, func(cfg *Config) { cfg.MaxStaleness = staleness })
	waitReady := func(what string) {
		testutil.Poll(t, 20*time.Second, what, func(context.Context) error {
			code, body, err := readyz(base)
			if err == nil && code != 200 {
				err = fmt.Errorf("readyz %d %q", code, body)
			}
			return err
		})
	}
	waitReady("counterd on the replica ready")

	// Cut the replica off while the master lives: point it at a dead port.
	replica.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
	testutil.Poll(t, 20*time.Second, "readyz fails on a replica cut off from a live master", func(context.Context) error {
		code, body, err := readyz(base)
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "old") {
			return fmt.Errorf("readyz %d %q, want 503 value too old", code, body)
		}
		return nil
	})
	replica.ReplicaOf(c.Master)
	waitReady("counterd ready again once the replica follows the master")

	c.Master.Kill()
	var unready []string
	testutil.Poll(t, 30*time.Second, "readyz says the master is down, past --max-staleness", func(context.Context) error {
		code, body, err := readyz(base)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			unready = append(unready, fmt.Sprintf("%d %q", code, body))
			return fmt.Errorf("readyz %d %q", code, body)
		}
		if !strings.Contains(body, "is down") {
			return fmt.Errorf("readyz %q, want the master said down", body)
		}
		return nil
	})
	if len(unready) > 0 {
		t.Errorf("readyz went unready while the sentinels saw the master down: %v", unready)
	}
}
