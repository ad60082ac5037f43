package steps

import (
	"context"
	"slices"
	"strings"
	"testing"

	"counter/provisioning/phase"
	"counter/provisioning/redisconf"
)

// sentinelRewrite does to sentinel.conf what Redis Sentinel does after a
// failover: the monitored master's address moves, and it records its id,
// epochs, the replicas and the other sentinels it found.
func sentinelRewrite(t *testing.T, h *fakeHost, newMaster string) {
	t.Helper()
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	f := h.st.files[redisconf.SentinelConfigPath]
	var out []string
	for line := range strings.Lines(string(f.content)) {
		if strings.HasPrefix(line, "sentinel monitor test ") {
			fs := strings.Fields(line)
			fs[3] = newMaster
			line = strings.Join(fs, " ") + "\n"
		}
		out = append(out, line)
	}
	out = append(out, "sentinel myid 0123abcd\n", "sentinel current-epoch 1\n",
		"sentinel known-replica test 198.51.100.10 6380\n", "sentinel known-sentinel test 198.51.100.10 26379 4567ef\n")
	f.content = []byte(strings.Join(out, ""))
	f.mode = "644:redis:redis" // Sentinel writes a new file with its own umask
	h.st.files[redisconf.SentinelConfigPath] = f
}

func sentinelStep(t *testing.T, c *Cluster, h *fakeHost) phase.Result {
	t.Helper()
	res, err := (Sentinel{c: c}).Run(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestSentinelLeavesSentinelsRewrite: after a failover Sentinel has moved
// the master in its file and added what it learnt; provision, which now
// also finds the new master live, changes nothing and restarts nothing.
func TestSentinelLeavesSentinelsRewrite(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	h := hosts["na"]
	for _, s := range All(c) {
		if _, err := s.Run(context.Background(), h); err != nil {
			t.Fatalf("%s: %v", s.Title(), err)
		}
	}
	conf := string(h.st.files[redisconf.SentinelConfigPath].content)
	if !strings.Contains(conf, "sentinel monitor test 198.51.100.10 6380 2\n") {
		t.Fatalf("sentinel.conf does not monitor the master:\n%s", conf)
	}
	if m := h.st.files[redisconf.SentinelConfigPath].mode; m != "640:redis:redis" {
		t.Errorf("sentinel.conf is %s, want 640:redis:redis (Sentinel rewrites it)", m)
	}

	sentinelRewrite(t, h, "198.51.100.11")
	c.Master = "mirror"
	h.st.restarts = nil
	rewritten := h.st.snapshot()
	if res := sentinelStep(t, c, h); res.Status != phase.OK {
		t.Errorf("sentinel after a failover = %v %+v, want ok", res.Status, res.Changes)
	}
	if h.st.snapshot() != rewritten {
		t.Error("provision changed the node after Sentinel's rewrite")
	}
	if len(h.st.restarts) > 0 {
		t.Errorf("provision restarted %v after a failover", h.st.restarts)
	}
}

// TestSentinelRewritesOwnedChange: what provision owns changed (here
// counterctl's password): the file is rewritten with Sentinel stopped,
// keeps what Sentinel learnt, names the live master, and the diff shows
// no password.
func TestSentinelRewritesOwnedChange(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	h := hosts["na"]
	for _, s := range All(c) {
		if _, err := s.Run(context.Background(), h); err != nil {
			t.Fatalf("%s: %v", s.Title(), err)
		}
	}
	sentinelRewrite(t, h, "198.51.100.11")
	c.Master = "mirror"
	c.SentinelAdminPassword = "rotated-admin-password-0123456789"
	h.st.restarts = nil
	res := sentinelStep(t, c, h)
	if res.Status != phase.Changed {
		t.Fatalf("sentinel with a new password = %v, want changed", res.Status)
	}
	conf := string(h.st.files[redisconf.SentinelConfigPath].content)
	for _, want := range []string{"sentinel monitor test 198.51.100.11 6380 2\n", "sentinel myid 0123abcd\n",
		"sentinel known-replica test 198.51.100.10 6380\n", "sentinel known-sentinel test 198.51.100.10 26379 4567ef\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("rewritten sentinel.conf lacks %q", want)
		}
	}
	if !slices.Contains(h.st.restarts, "stop "+sentinelUnit) || !h.st.units[sentinelUnit][1] {
		t.Errorf("restarts %v, active %v: want Sentinel stopped for the rewrite and running after", h.st.restarts, h.st.units[sentinelUnit][1])
	}
	for _, ch := range res.Changes {
		for _, pw := range []string{c.SentinelPassword, c.SentinelPeerPassword, "rotated-admin", c.CounterdPassword} {
			if strings.Contains(ch.Diff, pw) || strings.Contains(ch.What, pw) {
				t.Errorf("change %q shows a password", ch.What)
			}
		}
	}
	if res := sentinelStep(t, c, h); res.Status != phase.OK {
		t.Errorf("second run = %v %+v, want ok", res.Status, res.Changes)
	}
}

// TestSentinelReplacesDebianDefault: Debian's file watches mymaster; even
// with provision's copy in place, a file that does not watch the cluster
// is rewritten.
func TestSentinelReplacesDebianDefault(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	h := hosts["master"]
	for _, s := range All(c) {
		if _, err := s.Run(context.Background(), h); err != nil {
			t.Fatalf("%s: %v", s.Title(), err)
		}
	}
	h.st.files[redisconf.SentinelConfigPath] = fakeFile{content: []byte("sentinel monitor mymaster 127.0.0.1 6379 2\n"), mode: "640:redis:redis"}
	if res := sentinelStep(t, c, h); res.Status != phase.Changed {
		t.Fatalf("sentinel over Debian's file = %v, want changed", res.Status)
	}
	if !monitors(h.st.files[redisconf.SentinelConfigPath].content, "test") {
		t.Error("sentinel.conf does not monitor the cluster after the run")
	}
}

// TestRedisConfFromInventory: promotion_priority and fencing reach redis.conf.
func TestRedisConfFromInventory(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	h := hosts["na"]
	for _, s := range All(c)[:3] {
		if _, err := s.Run(context.Background(), h); err != nil {
			t.Fatalf("%s: %v", s.Title(), err)
		}
	}
	conf := string(h.st.files[redisconf.ConfigPath].content)
	for _, want := range []string{"replica-priority 100\n", "min-replicas-to-write 1\n", "user sentinel reset on #"} {
		if !strings.Contains(conf, want) {
			t.Errorf("redis.conf lacks %q", want)
		}
	}
	if m := h.st.files[redisconf.ConfigPath].mode; m != redisConfMode {
		t.Errorf("redis.conf is %s, want %s: Redis rewrites it after a failover", m, redisConfMode)
	}
}

// TestSingleNode: a master-only inventory provisions: no fencing (no
// replica to wait for), a sentinel with quorum 1, and a second run ok.
func TestSingleNode(t *testing.T) {
	hosts := map[string]*fakeHost{"master": newFake("master", "master")}
	c := newCluster(t, hosts)
	c.Inv.Nodes = c.Inv.Nodes[:1]
	h := hosts["master"]
	for _, s := range All(c) {
		if _, err := s.Run(context.Background(), h); err != nil {
			t.Fatalf("%s: %v", s.Title(), err)
		}
	}
	if conf := string(h.st.files[redisconf.ConfigPath].content); !strings.Contains(conf, "\nmin-replicas-to-write 0\n") {
		t.Error("a one-node master is fenced: it would refuse every write")
	}
	if conf := string(h.st.files[redisconf.SentinelConfigPath].content); !strings.Contains(conf, "sentinel monitor test 198.51.100.10 6380 1\n") ||
		!strings.Contains(conf, "sentinel parallel-syncs test 1\n") {
		t.Errorf("one node's sentinel.conf:\n%s", conf)
	}
	for _, s := range All(c) {
		if res, err := s.Run(context.Background(), h); err != nil || (res.Status != phase.OK && s.Title() != "replication") {
			t.Errorf("second run: %s = %v, %v", s.Title(), res.Status, err)
		}
	}
}
