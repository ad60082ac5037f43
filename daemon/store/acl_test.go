package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/redisconf"
)

// TestSentinelStoreWithinTheProvisionedACL: a store following the sentinels
// (the press's WAIT and INFO included) runs as the ACL user counterd with
// exactly the commands provisioning grants it (redisconf.CounterdCommands).
func TestSentinelStoreWithinTheProvisionedACL(t *testing.T) {
	acl := []string{"--user", "counterd", "on", ">pw", "~" + store.DefaultKeyPrefix + "*", "&" + store.DefaultKeyPrefix + "*", "-@all"}
	for _, cmd := range redisconf.CounterdCommands() {
		acl = append(acl, "+"+cmd)
	}
	ca := testutil.NewTLS(t)
	// Replication and the sentinels use the default user; counterd its own,
	// on the sentinels too (their ACL is the sentinel work's, not tested here).
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{10, 100},
		SentinelConf: "user counterd on >pw +@all\n"},
		redistest.WithCA(ca), redistest.WithPassword("pw"), redistest.WithArgs(acl...))
	local := c.Replicas[1]
	var mu sync.Mutex
	var errs []string
	s := openFailoverStore(t, c, local, func(o *store.Options) {
		o.LocalURL = "rediss://counterd:pw@" + local.Addr() + "/0"
		o.MasterURL = o.LocalURL
		o.OnRedisError = func(op string, err error) {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, op+": "+err.Error())
		}
	})
	waitPromotionFirst(t, s, c.Replicas[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Register(ctx, "ann", "ann-password"); err != nil {
		t.Fatalf("Register: %v", err)
	}
	token, err := s.NewSession(ctx, "ann")
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	testutil.Poll(t, 20*time.Second, "ann's press acknowledged", func(ctx context.Context) error {
		_, err := s.IncrementSession(ctx, token)
		return err
	})
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		if strings.Contains(e, "NOPERM") {
			t.Errorf("the store hit the ACL: %s", e)
		}
	}
}
