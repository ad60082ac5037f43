package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/daemon/store"
	"counter/internal/redisinfo"
	"counter/internal/redistest"
	"counter/internal/testutil"
)

// openFailoverStore opens a store that reads from local and writes to the
// master the cluster's sentinels name, over TLS with a client certificate
// and the password, as counterd --sentinels does.
func openFailoverStore(t testing.TB, c *redistest.Cluster, local *redistest.Server, edit func(*store.Options)) *env {
	t.Helper()
	return openStore(t, local, nil, func(o *store.Options) {
		o.Sentinels, o.MasterName = c.SentinelAddrs(), c.Name
		o.CAFile, o.CertFile, o.KeyFile = local.CAFile(), local.CertFile(), local.KeyFile()
		o.Timeout = time.Second
		if edit != nil {
			edit(o)
		}
	})
}

// addUsers writes users and sessions straight to srv (Register would time
// argon2); session tokens are "token-<login>".
func addUsers(t testing.TB, s *env, srv *redistest.Server, logins ...string) {
	t.Helper()
	ctx := context.Background()
	p := srv.Client().Pipeline()
	for _, l := range logins {
		p.HSet(ctx, s.UserKey(l), "hash", "x")
		p.Set(ctx, s.SessionKey("token-"+l), l, time.Hour)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitPromotionFirst waits until the store knows the sentinels would promote want first.
func waitPromotionFirst(t testing.TB, s *env, want *redistest.Server) {
	t.Helper()
	testutil.Poll(t, 20*time.Second, "the store learns the promotion order", func(context.Context) error {
		if got := s.PromotionFirst(); !slices.Equal(got, []string{want.Addr()}) {
			return fmt.Errorf("promotion first %q, want [%s]", got, want.Addr())
		}
		return nil
	})
}

// pressUntilAnswered presses until the press is acknowledged with want: on
// a loaded machine the replicas may not acknowledge within the WAITs, and
// the retry then reports the same press.
func pressUntilAnswered(t testing.TB, s *env, token string, want int64) {
	t.Helper()
	testutil.Poll(t, 20*time.Second, "press "+token+" acknowledged", func(ctx context.Context) error {
		p, err := s.IncrementSession(ctx, token)
		if err != nil {
			return err
		}
		if p.Value != want {
			return testutil.Stop(fmt.Errorf("press = %+v, want value %d", p, want))
		}
		return nil
	})
}

func TestPressWaitsForTheReplicaPromotedFirst(t *testing.T) {
	ca := testutil.NewTLS(t)
	// The sentinels take 5 s to call a paused replica down, so the paused
	// mirror is still the one they would promote while the press is made.
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{100, 10}, DownAfter: 5 * time.Second},
		redistest.WithCA(ca), redistest.WithPassword("pw"))
	continental, mirror := c.Replicas[0], c.Replicas[1]
	s := openFailoverStore(t, c, continental, nil)
	addUsers(t, s, c.Master, "ann", "bob")
	waitPromotionFirst(t, s, mirror)
	ctx := context.Background()

	pressUntilAnswered(t, s, "token-ann", 1)

	mirror.Pause()
	_, err := s.IncrementSession(ctx, "token-bob")
	if !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Errorf("press while the mirror is paused = %v, want ErrOutcomeUnknown (only the continental replica has it)", err)
	}
	sc := c.Sentinels[0].Client()
	defer sc.Close()
	reps, serr := sc.Replicas(ctx, c.Name).Result()
	for _, r := range reps {
		if r["port"] == strings.Split(mirror.Addr(), ":")[1] && strings.Contains(r["flags"], "s_down") {
			t.Fatalf("the sentinels called the mirror down before the press was answered (%v): the test ran too slowly to mean anything", r["flags"])
		}
	}
	if serr != nil {
		t.Fatalf("SENTINEL REPLICAS: %v", serr)
	}
	mirror.Resume()

	// Pressing again tells: the same press, now on the mirror, is reported.
	testutil.Poll(t, 10*time.Second, "bob's press is confirmed once the mirror has it", func(ctx context.Context) error {
		p, err := s.IncrementSession(ctx, "token-bob")
		if err != nil {
			return err
		}
		if !p.Earlier || p.Value != 2 {
			return testutil.Stop(fmt.Errorf("retry = %+v, want the earlier press with value 2", p))
		}
		return nil
	})
}

func TestPressRefusedWithoutReplicasIsNotCounted(t *testing.T) {
	ca := testutil.NewTLS(t)
	// Fencing as provisioned: a master without a replica takes no writes.
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{10}},
		redistest.WithCA(ca), redistest.WithPassword("pw"), redistest.WithArgs("--min-replicas-to-write", "1"))
	stores := map[string]*env{
		"fixed master": openStore(t, c.Master, nil, func(o *store.Options) {
			o.CAFile, o.CertFile, o.KeyFile = ca.CAFile, ca.CertFile, ca.KeyFile
		}),
		"sentinels": openFailoverStore(t, c, c.Master, nil),
	}
	addUsers(t, stores["sentinels"], c.Master, "ann", "bob")
	c.Replicas[0].Kill()
	cl := c.Master.Client()
	testutil.Poll(t, 10*time.Second, "the master refuses writes (NOREPLICAS)", func(ctx context.Context) error {
		err := cl.Eval(ctx, "return redis.call('INCR', KEYS[1])", []string{"probe"}).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "NOREPLICAS") {
			return fmt.Errorf("probe write: %v, want NOREPLICAS", err)
		}
		return nil
	})
	for name, s := range stores {
		token := map[string]string{"fixed master": "token-ann", "sentinels": "token-bob"}[name]
		_, err := s.IncrementSession(context.Background(), token)
		if !errors.Is(err, store.ErrMasterUnavailable) || !errors.Is(err, store.ErrMasterMoving) || errors.Is(err, store.ErrOutcomeUnknown) {
			t.Errorf("%s: press on a fenced master = %v; want ErrMasterUnavailable and ErrMasterMoving (NOREPLICAS: not counted), not ErrOutcomeUnknown", name, err)
		}
	}
	if n := c.Master.Do("EXISTS", stores["sentinels"].ValueKey()); n != int64(0) {
		t.Errorf("EXISTS %s = %v after refused presses, want 0", stores["sentinels"].ValueKey(), n)
	}
}

// TestPressOutlastsAttachingReplicas: a master just promoted refuses
// writes (NOREPLICAS) until a replica attaches. A press sent then is tried
// again while its time lasts, and counts once the master takes writes.
func TestPressOutlastsAttachingReplicas(t *testing.T) {
	ca := testutil.NewTLS(t)
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{10}},
		redistest.WithCA(ca), redistest.WithPassword("pw"), redistest.WithArgs("--min-replicas-to-write", "1"))
	s := openStore(t, c.Master, nil, func(o *store.Options) {
		o.CAFile, o.CertFile, o.KeyFile = ca.CAFile, ca.CertFile, ca.KeyFile
		o.Timeout = 6 * time.Second // tried again for the first 3 s
	})
	addUsers(t, s, c.Master, "ann")
	c.Replicas[0].Kill()
	cl := c.Master.Client()
	refusals := func(ctx context.Context) int {
		stats, err := cl.Info(ctx, "errorstats").Result()
		if err != nil {
			t.Fatalf("INFO errorstats: %v", err)
		}
		// errorstat_NOREPLICAS:count=N
		n, _ := strconv.Atoi(strings.TrimPrefix(redisinfo.Parse(stats)["errorstat_NOREPLICAS"], "count="))
		return n
	}
	testutil.Poll(t, 10*time.Second, "the master refuses writes (NOREPLICAS)", func(ctx context.Context) error {
		if err := cl.Eval(ctx, "return redis.call('INCR', KEYS[1])", []string{"probe"}).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOREPLICAS") {
			return fmt.Errorf("probe write: %v, want NOREPLICAS", err)
		}
		return nil
	})
	before := refusals(t.Context())

	type result struct {
		p   store.Press
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := s.IncrementSession(context.Background(), "token-ann")
		done <- result{p, err}
	}()
	testutil.Poll(t, 10*time.Second, "the press is refused once", func(ctx context.Context) error {
		if n := refusals(ctx); n <= before {
			return fmt.Errorf("%d NOREPLICAS refusals, %d before the press", n, before)
		}
		return nil
	})
	// As if the first replica had attached to the new master.
	if err := cl.ConfigSet(t.Context(), "min-replicas-to-write", "0").Err(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.p.Value != 1 {
		t.Fatalf("press sent while the master had no replica = %+v, %v; want it counted (value 1) once the master takes writes", r.p, r.err)
	}
}

func TestPressOnADemotedMasterIsNotCounted(t *testing.T) {
	master, replica := startPair(t)
	// counterd still writing to a master the sentinels have demoted: READONLY.
	s := openStore(t, replica, replica, nil)
	addUsers(t, s, master, "ann")
	waitValue(t, s, 0)
	testutil.Poll(t, 10*time.Second, "the user reaches the replica", func(ctx context.Context) error {
		return replica.Client().Get(ctx, s.SessionKey("token-ann")).Err()
	})
	_, err := s.IncrementSession(context.Background(), "token-ann")
	if !errors.Is(err, store.ErrMasterUnavailable) || !errors.Is(err, store.ErrMasterMoving) || errors.Is(err, store.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("press on a replica = %v; want ErrMasterUnavailable and ErrMasterMoving (READONLY: not counted), not ErrOutcomeUnknown", err)
	}
}

// TestLaggingMirrorLosesNoAcknowledgedPress: the mirror (promoted first)
// is paused with its socket buffers full, so a press reaches only the
// continental replica; the master dies and the mirror, resumed, is
// promoted without it. That press must not have been answered as counted;
// pressed again, it counts on the new master.
func TestLaggingMirrorLosesNoAcknowledgedPress(t *testing.T) {
	ca := testutil.NewTLS(t)
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{10, 100}, DownAfter: 5 * time.Second},
		redistest.WithCA(ca), redistest.WithPassword("pw"))
	mirror, continental := c.Replicas[0], c.Replicas[1]
	s := openFailoverStore(t, c, continental, nil)
	addUsers(t, s, c.Master, "ann", "bob")
	waitPromotionFirst(t, s, mirror)
	ctx := context.Background()
	acked := map[string]bool{}
	pressUntilAnswered(t, s, "token-ann", 1)
	acked["ann"] = true

	// Fill the paused mirror's socket buffers (loopback holds tens of MB)
	// so the master keeps what follows in its own memory, lost with it.
	mirror.Pause()
	junk := strings.Repeat("x", 16<<20)
	mc := c.Master.Client()
	for i := range 5 {
		if err := mc.Set(ctx, fmt.Sprintf("junk:%d", i), junk, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.IncrementSession(ctx, "token-bob")
	switch {
	case err == nil:
		acked["bob"] = true
		t.Errorf("press with the mirror behind = counted, want ErrOutcomeUnknown")
	case !errors.Is(err, store.ErrOutcomeUnknown):
		t.Errorf("press with the mirror behind = %v, want ErrOutcomeUnknown", err)
	}
	old := c.Master
	old.Kill()
	mirror.Resume()
	if got := c.WaitNewMaster(t, old, 30*time.Second); got != mirror {
		t.Fatalf("promoted %s, want the mirror %s", got.Addr(), mirror.Addr())
	}
	nc := mirror.Client()
	for login := range acked {
		if err := nc.HGet(ctx, s.UserKey(login), store.FieldLastIncrement).Err(); err != nil {
			t.Errorf("%s's acknowledged press is not on the new master: %v", login, err)
		}
	}
	testutil.Poll(t, 20*time.Second, "bob's press counts on the new master", func(ctx context.Context) error {
		p, err := s.IncrementSession(ctx, "token-bob")
		if err != nil {
			return err
		}
		if p.Value != 2 {
			return testutil.Stop(fmt.Errorf("bob's press = %+v, want value 2", p))
		}
		return nil
	})
}

// TestPressOutlastsAFailover: a press sent just after the master died is
// tried again within its deadline and counts once on the promoted mirror.
// Before, every press until the failover client followed the new master
// failed at once on a refused connection ("not known yet"), and its user
// had to press again (chaos scenario 1: 5.2 s in the CI run of 45e1541).
func TestPressOutlastsAFailover(t *testing.T) {
	ca := testutil.NewTLS(t)
	c := redistest.StartCluster(t, redistest.ClusterConfig{Priorities: []int{10, 100}, DownAfter: 500 * time.Millisecond},
		redistest.WithCA(ca), redistest.WithPassword("pw"))
	mirror, continental := c.Replicas[0], c.Replicas[1]
	// Half the press's time (the part it may spend trying again) outlasts
	// the failover: down-after, an election and a promotion on loopback.
	s := openFailoverStore(t, c, continental, func(o *store.Options) { o.Timeout = 30 * time.Second })
	addUsers(t, s, c.Master, "ann", "bob")
	waitPromotionFirst(t, s, mirror)
	pressUntilAnswered(t, s, "token-ann", 1) // the pool now holds connections to the master

	old := c.Master
	old.Kill()
	p, err := s.IncrementSession(context.Background(), "token-bob")
	if err != nil || p.Value != 2 || p.Earlier {
		t.Fatalf("press just after the master died = %+v, %v; want counted once on the new master, value 2", p, err)
	}
	if got := c.WaitNewMaster(t, old, 30*time.Second); got != mirror {
		t.Fatalf("promoted %s, want the mirror %s", got.Addr(), mirror.Addr())
	}
	if v := mirror.Client().Get(context.Background(), s.ValueKey()).Val(); v != "2" {
		t.Fatalf("counter on the new master = %s, want 2", v)
	}
}
