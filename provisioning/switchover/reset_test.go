package switchover_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/switchover"
)

// A replica taken out of the cluster (its Redis and Sentinel stopped) is
// forgotten by the sentinels that remain; without the reset they list it
// for ever.
func TestResetSentinelsForgetsARemovedNode(t *testing.T) {
	l := newLab(t)
	l.sentinels["na"].Stop()
	l.servers["na"].Stop()
	var out testutil.Buffer
	err := switchover.ResetSentinels(context.Background(), l.asker, l.cluster, "na", 30*time.Second, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("ResetSentinels: %v", err)
	}
	for _, s := range []string{"eu1", "eu2"} {
		v, err := l.asker.Sentinel(context.Background(), s, "SENTINEL", "MASTER", name)
		if err != nil {
			t.Fatal(err)
		}
		m := v.(map[any]any)
		if m["num-slaves"] != "1" || m["num-other-sentinels"] != "1" {
			t.Errorf("sentinel on %s: num-slaves %v, num-other-sentinels %v; want 1 and 1", s, m["num-slaves"], m["num-other-sentinels"])
		}
		reps, err := l.asker.Sentinel(context.Background(), s, "SENTINEL", "REPLICAS", name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(reps); !strings.Contains(got, l.servers["eu2"].Addr()) || strings.Contains(got, l.servers["na"].Addr()) {
			t.Errorf("sentinel on %s lists replicas %s, want eu2 only", s, got)
		}
	}
}
