package switchover_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
	"counter/provisioning/switchover"
)

const name = "counter"

// lab is a master, a mirror and a continental replica on loopback, with a
// sentinel per node, as the provisioned cluster has them.
type lab struct {
	servers   map[string]*redistest.Server
	sentinels map[string]*redistest.Sentinel
	cluster   switchover.Cluster
	asker     *asker
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{servers: map[string]*redistest.Server{}, sentinels: map[string]*redistest.Sentinel{}}
	roles := []struct {
		name     string
		role     inventory.Role
		priority string
	}{{"eu1", inventory.RoleMaster, "100"}, {"eu2", inventory.RoleMirror, "1"}, {"na", inventory.RoleReplica, "100"}}
	for _, r := range roles {
		s := redistest.Start(t, redistest.WithUnixSocket(), redistest.WithArgs("--replica-priority", r.priority))
		l.servers[r.name] = s
		l.cluster.Nodes = append(l.cluster.Nodes, livemaster.Node{
			Node:  inventory.Node{Name: r.name, Role: r.role},
			Addrs: []string{s.Addr()},
		})
	}
	l.servers["eu2"].ReplicaOf(l.servers["eu1"])
	l.servers["na"].ReplicaOf(l.servers["eu1"])
	for _, r := range roles {
		l.sentinels[r.name] = redistest.StartSentinel(t, l.servers["eu1"], name, 2)
	}
	l.cluster.Name = name
	l.asker = newAsker(t, l)
	// The sentinels know both replicas and each other before a test starts.
	testutil.Poll(t, 30*time.Second, "sentinels see 2 replicas and 2 other sentinels", func(ctx context.Context) error {
		for n := range l.sentinels {
			v, err := l.asker.Sentinel(ctx, n, "SENTINEL", "MASTER", name)
			if err != nil {
				return err
			}
			m := v.(map[any]any)
			if m["num-slaves"] != "2" || m["num-other-sentinels"] != "2" {
				return fmt.Errorf("sentinel on %s: num-slaves %v num-other-sentinels %v", n, m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return nil
	})
	return l
}

// asker talks to the loopback servers directly; the product's goes over SSH.
type asker struct{ redis, sentinel map[string]*redis.Client }

var _ switchover.Asker = (*asker)(nil)

func newAsker(t *testing.T, l *lab) *asker {
	a := &asker{redis: map[string]*redis.Client{}, sentinel: map[string]*redis.Client{}}
	for n, s := range l.servers {
		a.redis[n] = redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DisableIdentity: true})
		t.Cleanup(func() { a.redis[n].Close() })
	}
	for n, s := range l.sentinels {
		// RESP2 here, RESP3 above: Run reads both.
		a.sentinel[n] = redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, Protocol: 2, DisableIdentity: true})
		t.Cleanup(func() { a.sentinel[n].Close() })
	}
	return a
}

func (a *asker) Redis(ctx context.Context, node string, args ...any) (any, error) {
	c, ok := a.redis[node]
	if !ok {
		return nil, fmt.Errorf("no node %s", node)
	}
	return c.Do(ctx, args...).Result()
}

func (a *asker) Sentinel(ctx context.Context, node string, args ...any) (any, error) {
	c, ok := a.sentinel[node]
	if !ok {
		return nil, fmt.Errorf("no sentinel on %s", node)
	}
	v, err := c.Do(ctx, args...).Result()
	if err == nil && len(args) > 1 && args[1] == "MASTER" {
		// Tests read SENTINEL MASTER as a map, whatever the protocol.
		l := v.([]any)
		m := map[any]any{}
		for i := 0; i+1 < len(l); i += 2 {
			m[l[i]] = l[i+1]
		}
		return m, nil
	}
	return v, err
}

// state is what a refused or dry run must leave as it was.
type state struct {
	roles, priorities map[string]string
	master            []string // each sentinel's view
}

func (l *lab) state(t *testing.T) state {
	t.Helper()
	ctx := context.Background()
	s := state{roles: map[string]string{}, priorities: map[string]string{}}
	for n, srv := range l.servers {
		c := srv.Client()
		s.roles[n] = c.Do(ctx, "ROLE").Val().([]any)[0].(string)
		s.priorities[n] = c.ConfigGet(ctx, "replica-priority").Val()["replica-priority"]
	}
	for n := range l.sentinels {
		v, err := l.asker.Sentinel(ctx, n, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
		if err != nil {
			t.Fatal(err)
		}
		s.master = append(s.master, fmt.Sprint(v))
	}
	slices.Sort(s.master)
	return s
}

// writer presses like counterd: INCR then WAIT 1 on the same connection,
// through a client that follows the sentinels. An INCR whose WAIT saw a
// replica is acknowledged; one whose WAIT did not is unknown.
type writer struct {
	mu           sync.Mutex
	acked        []int64
	unknown, err int
}

func (l *lab) write(ctx context.Context, t *testing.T, w *writer) {
	var addrs []string
	for _, s := range l.sentinels {
		addrs = append(addrs, s.Addr())
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: name, SentinelAddrs: addrs, MaxRetries: -1,
		ReadTimeout: 30 * time.Second, DisableIdentity: true,
	})
	defer c.Close()
	for ctx.Err() == nil {
		var incr *redis.IntCmd
		var wait *redis.Cmd
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			incr = p.Incr(ctx, "presses")
			wait = p.Do(ctx, "WAIT", 1, 1000)
			return nil
		})
		w.mu.Lock()
		switch {
		case incr.Err() != nil:
			w.err++ // not applied: READONLY, a closed connection
		case err == nil && wait.Val().(int64) >= 1:
			w.acked = append(w.acked, incr.Val())
		default:
			w.unknown++
		}
		w.mu.Unlock()
	}
}

func TestSwitchoverLosesNoAcknowledgedWrite(t *testing.T) {
	l := newLab(t)
	ctx, stop := context.WithCancel(context.Background())
	w := &writer{}
	var wg sync.WaitGroup
	wg.Go(func() { l.write(ctx, t, w) })
	// The writer has acknowledged writes before the switchover starts.
	testutil.Eventually(t, 10*time.Second, "writer acknowledged 100 writes", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.acked) >= 100
	})

	var out testutil.Buffer
	res, err := switchover.Run(context.Background(), l.asker, l.cluster, switchover.Options{To: "na", Out: &out})
	t.Logf("switchover output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The writer goes on against the new master before we stop it.
	w.mu.Lock()
	before := len(w.acked)
	w.mu.Unlock()
	testutil.Eventually(t, 20*time.Second, "writer acknowledged 100 more writes on the new master", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.acked) >= before+100
	})
	stop()
	wg.Wait()

	t.Logf("write pause %s; %d acknowledged, %d unknown, %d refused", res.WritePause, len(w.acked), w.unknown, w.err)
	final, err := l.servers["na"].Client().Get(context.Background(), "presses").Int64()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, v := range w.acked {
		if seen[v] {
			t.Errorf("value %d acknowledged twice: an acknowledged write was lost and its value handed out again", v)
		}
		seen[v] = true
		if v > final {
			t.Errorf("acknowledged value %d > final %d: lost", v, final)
		}
	}
	if n := int64(len(w.acked)); final < n || final > n+int64(w.unknown) {
		t.Errorf("final value %d, want between %d acknowledged and %d acknowledged+unknown", final, n, n+int64(w.unknown))
	}

	st := l.state(t)
	if st.roles["na"] != "master" || st.roles["eu1"] != "slave" || st.roles["eu2"] != "slave" {
		t.Errorf("roles after switchover %v, want na master, eu1 and eu2 slave", st.roles)
	}
	naAddr := l.servers["na"].Addr()
	h, p, _ := net.SplitHostPort(naAddr)
	for _, m := range st.master {
		if m != fmt.Sprintf("[%s %s]", h, p) {
			t.Errorf("sentinels name %v, want every one %s", st.master, naAddr)
			break
		}
	}
	if st.priorities["na"] != "100" || st.priorities["eu2"] != "1" {
		t.Errorf("replica-priority after switchover %v, want na 100 and eu2 1 again", st.priorities)
	}
	if res.WritePause <= 0 {
		t.Errorf("WritePause %s, want the measured pause", res.WritePause)
	}
}

// Over redis-cli, as counterctl runs it on the nodes.
func TestSwitchoverDefaultsToTheMirror(t *testing.T) {
	l := newLab(t)
	var out testutil.Buffer
	res, err := switchover.Run(context.Background(), l.cli(t), l.cluster, switchover.Options{Out: &out})
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Plan.Target != "eu2" {
		t.Errorf("target %q, want the mirror eu2", res.Plan.Target)
	}
	if st := l.state(t); st.roles["eu2"] != "master" || st.roles["eu1"] != "slave" {
		t.Errorf("roles %v, want eu2 master and eu1 slave", st.roles)
	}
}

func TestSwitchoverRefusesAndChangesNothing(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		name   string
		opts   switchover.Options
		before func(t *testing.T) (after func())
		want   string
	}{
		{name: "unknown node", opts: switchover.Options{To: "nowhere"}, want: "nowhere is no data node"},
		{name: "already master", opts: switchover.Options{To: "eu1"}, want: "eu1 is already the master"},
		{
			name: "priority 0", opts: switchover.Options{To: "na"}, want: "replica-priority 0",
			before: func(t *testing.T) func() {
				l.servers["na"].Do("CONFIG", "SET", "replica-priority", "0")
				return func() { l.servers["na"].Do("CONFIG", "SET", "replica-priority", "100") }
			},
		},
		{
			// A stopped replica neither acknowledges nor answers: the
			// master's view says how far behind it is.
			name: "lagging target", opts: switchover.Options{To: "na", MaxLag: 1024}, want: "na lags at most 1024 bytes",
			before: func(t *testing.T) func() {
				l.servers["na"].Pause()
				c := l.servers["eu1"].Client()
				for i := range 100 {
					c.Set(context.Background(), fmt.Sprint("fill", i), strings.Repeat("x", 100), 0)
				}
				// The master sees na's offset stay behind (acks every second).
				testutil.Poll(t, 10*time.Second, "master sees na behind", func(ctx context.Context) error {
					info := c.Info(ctx, "replication").Val()
					if !strings.Contains(info, "port="+portOf(l.servers["na"].Addr())+",state=online") {
						return errors.New("na not listed")
					}
					return nil
				})
				return func() { l.servers["na"].Resume() }
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The state is read around the test's own change (a stopped
			// server cannot answer ROLE).
			before := l.state(t)
			undo := func() {}
			if tt.before != nil {
				undo = tt.before(t)
			}
			var out testutil.Buffer
			tt.opts.Out = &out
			tt.opts.CallTimeout = time.Second
			_, err := switchover.Run(context.Background(), l.asker, l.cluster, tt.opts)
			t.Logf("output:\n%s", out.String())
			undo()
			if !errors.Is(err, switchover.ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want a refusal containing %q", err, tt.want)
			}
			if after := l.state(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("state changed by a refused run:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestSwitchoverDryRunChangesNothing(t *testing.T) {
	l := newLab(t)
	before := l.state(t)
	var out testutil.Buffer
	res, err := switchover.Run(context.Background(), l.asker, l.cluster, switchover.Options{To: "na", DryRun: true, Out: &out})
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Plan.Target != "na" || res.Plan.Temporary["na"] != 1 || res.Plan.Temporary["eu2"] != 2 {
		t.Errorf("plan target %q temporary %v, want na with na→1 and eu2→2", res.Plan.Target, res.Plan.Temporary)
	}
	for _, want := range []string{"target: na", "SENTINEL FAILOVER counter", "dry run: nothing changed", "na is an online replica of eu1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
	if after := l.state(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("dry run changed the cluster:\nbefore %v\nafter  %v", before, after)
	}
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// A mirror that lags (here: stopped while the master takes writes) is
// passed over for the most up-to-date replica.
func TestSwitchoverDefaultSkipsALaggingMirror(t *testing.T) {
	l := newLab(t)
	l.servers["eu2"].Pause()
	defer l.servers["eu2"].Resume()
	c := l.servers["eu1"].Client()
	for i := range 100 {
		c.Set(context.Background(), fmt.Sprint("fill", i), strings.Repeat("x", 100), 0)
	}
	var out testutil.Buffer
	res, err := switchover.Run(context.Background(), l.asker, l.cluster, switchover.Options{DryRun: true, MaxLag: 1024, CallTimeout: time.Second, Out: &out})
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Plan.Target != "na" {
		t.Errorf("target %q, want na (the mirror eu2 lags)", res.Plan.Target)
	}
}
