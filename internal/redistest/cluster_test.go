package redistest_test

import (
	"testing"
	"time"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

func TestClusterFailsOverToTheLowestPriority(t *testing.T) {
	ca := testutil.NewTLS(t)
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{100, 10}}, redistest.WithCA(ca), redistest.WithPassword("pw"))
	c.Master.Do("SET", "k", "v")
	old := c.Master
	old.Kill()
	if got := c.WaitNewMaster(t, old, 30*time.Second); got != c.Replicas[1] {
		t.Fatalf("promoted %s, want the priority-10 replica %s", got.Addr(), c.Replicas[1].Addr())
	}
}
