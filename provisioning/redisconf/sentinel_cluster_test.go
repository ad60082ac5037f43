package redisconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

// sentinelNode is a real Sentinel started from RenderSentinel's output.
type sentinelNode struct {
	name, addr string
	port       int
	confPath   string
	hookLog    string
	proc       *redistest.Process
}

type sentinelUsers struct{ redis, peer, admin string }

func newSentinelUsers(t *testing.T) sentinelUsers {
	return sentinelUsers{
		redis: "sentinel-" + testutil.RandHex(t, 16),
		peer:  "peer-" + testutil.RandHex(t, 16),
		admin: "admin-" + testutil.RandHex(t, 16),
	}
}

// startSentinel renders n's sentinel.conf as provision would (TLS with n's
// Redis certificate, the ACL users, the real failover hook with a hook
// that records its arguments) and runs it with redis-server --sentinel.
func (c *cluster) startSentinel(t *testing.T, n *node, master *node, quorum int, u sentinelUsers) *sentinelNode {
	t.Helper()
	dir := t.TempDir()
	s := &sentinelNode{name: n.name, addr: n.addr, port: testutil.FreePort(t), hookLog: filepath.Join(dir, "hook.log")}
	hookDir := filepath.Join(dir, "failover.d")
	if err := os.MkdirAll(hookDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := "#!/bin/sh\necho \"$@\" >> " + s.hookLog + "\n"
	if err := os.WriteFile(filepath.Join(hookDir, "10-record"), []byte(rec), 0o755); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(dir, "failover-hook")
	if err := os.WriteFile(hook, FailoverHookScript(hookDir), 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := RenderSentinel(SentinelParams{
		Node: n.name, Name: "counter",
		Bind: []netip.Addr{netip.MustParseAddr(n.addr)}, AnnounceIP: netip.MustParseAddr(n.addr), Port: s.port,
		Master: netip.MustParseAddr(master.addr), MasterPort: master.port, Quorum: quorum, ParallelSyncs: 2,
		RedisPassword: u.redis, PeerPassword: u.peer, CounterdPassword: c.counterdPassword, AdminPassword: u.admin,
		// The loopback anchor (ANCHORS.md): the WAN values would only make the test slower.
		DownAfter: time.Second, FailoverTimeout: 5 * time.Second,
		Paths: SentinelPaths{
			Dir: dir, LogFile: filepath.Join(dir, "sentinel.log"), PIDFile: filepath.Join(dir, "sentinel.pid"),
			TLSCertFile: n.paths.TLSCertFile, TLSKeyFile: n.paths.TLSKeyFile, TLSCAFile: n.paths.TLSCAFile,
			ReconfigScript: hook,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// supervised systemd without NOTIFY_SOCKET is harmless; keep the file as rendered.
	s.confPath = filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(s.confPath, conf, 0o640); err != nil {
		t.Fatal(err)
	}
	admin := c.sentinelClient(t, s, "counterctl", u.admin)
	s.proc = redistest.Run(t, dir, filepath.Join(dir, "sentinel.log"),
		func(ctx context.Context) error { return admin.Ping(ctx).Err() }, s.confPath, "--sentinel")
	return s
}

func (c *cluster) sentinelClient(t *testing.T, s *sentinelNode, user, password string) *redis.SentinelClient {
	t.Helper()
	cl := redis.NewSentinelClient(&redis.Options{
		Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Username: user, Password: password,
		TLSConfig: &tls.Config{RootCAs: c.ca.Pool(), ServerName: "127.0.0.1",
			Certificates: []tls.Certificate{c.counterdCert}, MinVersion: tls.VersionTLS12},
		DisableIdentity:          true, // Redis 7.0 has no CLIENT SETINFO
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		DialTimeout:              2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		MaxRetries: -1,
	})
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// TestRealSentinelFailover: three sentinels rendered by RenderSentinel
// watch master, mirror and replica rendered by Render, over TLS with client
// certificates, each side logging in as its ACL user with only its
// commands. They agree on the master, CKQUORUM holds; when the master dies
// they promote the mirror (lower replica-priority than the replica), the
// replica follows it, and every sentinel's hook records the promotion.
func TestRealSentinelFailover(t *testing.T) {
	c := newCluster(t)
	u := newSentinelUsers(t)
	c.sentinelPassword, c.minReplicas = u.redis, 1
	master := c.start(t, RoleMaster, "master", "127.0.0.2", nil)
	mirror := c.start(t, RoleMirror, "mirror", "127.0.0.3", master)
	replica := c.start(t, RoleReplica, "na", "127.0.0.4", master)
	nodes := []*node{master, mirror, replica}
	var sentinels []*sentinelNode
	for _, n := range nodes {
		sentinels = append(sentinels, c.startSentinel(t, n, master, 2, u))
	}
	admin := func(s *sentinelNode) *redis.SentinelClient { return c.sentinelClient(t, s, "counterctl", u.admin) }
	addrOf := func(n *node) string { return net.JoinHostPort(n.addr, strconv.Itoa(n.port)) }

	masterIs := func(want *node) func(context.Context) error {
		return func(ctx context.Context) error {
			for _, s := range sentinels {
				hp, err := admin(s).GetMasterAddrByName(ctx, "counter").Result()
				if err != nil {
					return fmt.Errorf("sentinel %s: %w", s.name, err)
				}
				if got := net.JoinHostPort(hp[0], hp[1]); got != addrOf(want) {
					return fmt.Errorf("sentinel %s names %s, want %s", s.name, got, addrOf(want))
				}
			}
			return nil
		}
	}
	testutil.Poll(t, 20*time.Second, "every sentinel names the master", masterIs(master))
	testutil.Poll(t, 30*time.Second, "the sentinels find each other and CKQUORUM holds", func(ctx context.Context) error {
		for _, s := range sentinels {
			peers, err := admin(s).Sentinels(ctx, "counter").Result()
			if err != nil {
				return err
			}
			if len(peers) != len(sentinels)-1 {
				return fmt.Errorf("sentinel %s knows %d other sentinels, want %d", s.name, len(peers), len(sentinels)-1)
			}
			if res, err := admin(s).CkQuorum(ctx, "counter").Result(); err != nil {
				return fmt.Errorf("sentinel %s: CKQUORUM %q, %w", s.name, res, err)
			}
		}
		return nil
	})

	t.Run("ACL: counterd follows but cannot steer, strangers cannot log in", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		cd := c.sentinelClient(t, sentinels[1], "counterd", c.counterdPassword)
		if _, err := cd.GetMasterAddrByName(ctx, "counter").Result(); err != nil {
			t.Errorf("counterd: GET-MASTER-ADDR-BY-NAME: %v", err)
		}
		if _, err := cd.Replicas(ctx, "counter").Result(); err != nil {
			t.Errorf("counterd: SENTINEL REPLICAS: %v", err)
		}
		if err := cd.Failover(ctx, "counter").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("counterd: SENTINEL FAILOVER = %v, want NOPERM", err)
		}
		if err := cd.Reset(ctx, "*").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("counterd: SENTINEL RESET = %v, want NOPERM", err)
		}
		if err := c.sentinelClient(t, sentinels[1], "default", "").Ping(ctx).Err(); err == nil {
			t.Error("the default user may PING the sentinel")
		}
		if err := c.sentinelClient(t, sentinels[1], "counterctl", c.counterdPassword).Ping(ctx).Err(); err == nil {
			t.Error("counterctl logs in with counterd's password")
		}
		// Redis' own user sentinel may not read data.
		cl := c.client(t, master, master.addr, "sentinel", u.redis, []tls.Certificate{c.counterdCert})
		if err := cl.Get(ctx, "counter:value").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("Redis user sentinel: GET = %v, want NOPERM", err)
		}
	})

	t.Run("fencing lets the master write while its replicas acknowledge", func(t *testing.T) {
		// min-replicas-to-write 1 lets the master write while replicas ack.
		cl := c.counterd(t, master, master.addr)
		testutil.Poll(t, 20*time.Second, "SET on the master once its replicas acknowledge", func(ctx context.Context) error {
			return cl.Set(ctx, "counter:fence", "1", 0).Err()
		})
	})

	start := time.Now()
	master.proc.Kill()
	testutil.Poll(t, 30*time.Second, "every sentinel names the mirror", masterIs(mirror))
	t.Logf("kill -9 of the master to every sentinel naming the mirror: %s (down-after 1 s)", time.Since(start).Round(100*time.Millisecond))
	testutil.Poll(t, 30*time.Second, "the replica follows the mirror", func(ctx context.Context) error {
		f, err := info(ctx, c.counterd(t, replica, "127.0.0.1"), "replication")
		if err != nil {
			return err
		}
		if f["role"] != "slave" || f["master_port"] != strconv.Itoa(mirror.port) || f["master_link_status"] != "up" {
			return fmt.Errorf("replica: role %s master %s:%s link %s", f["role"], f["master_host"], f["master_port"], f["master_link_status"])
		}
		return nil
	})
	f, err := info(t.Context(), c.counterd(t, mirror, "127.0.0.1"), "replication")
	if err != nil || f["role"] != "master" {
		t.Fatalf("mirror: role %q, %v; want master", f["role"], err)
	}
	// The promoted node's redis.conf was not rewritten by CONFIG REWRITE
	// here either way; what matters is the hook ran on every sentinel.
	testutil.Poll(t, 30*time.Second, "every sentinel's hook recorded the promotion", func(ctx context.Context) error {
		want := fmt.Sprintf("counter %%s %%s %s %d %s %d", master.addr, master.port, mirror.addr, mirror.port)
		for _, s := range sentinels {
			b, err := os.ReadFile(s.hookLog)
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("sentinel %s: hook not run yet", s.name)
			}
			if err != nil {
				return err
			}
			var role, state string
			if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), want, &role, &state); err != nil {
				return fmt.Errorf("sentinel %s: hook got %q, want %q: %v", s.name, b, want, err)
			}
		}
		return nil
	})
}

// TestRealFencing: a master rendered with MinReplicasToWrite 1 refuses a
// write once no replica has acknowledged within min-replicas-max-lag; a
// master of a one-node cluster (0) takes it.
func TestRealFencing(t *testing.T) {
	c := newCluster(t)
	c.minReplicas = 1
	fenced := c.start(t, RoleMaster, "fenced", "127.0.0.2", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := c.counterd(t, fenced, "127.0.0.1").Set(ctx, "counter:value", "1", 0).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "NOREPLICAS") {
		t.Errorf("SET on a master without replicas = %v, want NOREPLICAS", err)
	}
	c.minReplicas = 0
	alone := c.start(t, RoleMaster, "alone", "127.0.0.3", nil)
	if err := c.counterd(t, alone, "127.0.0.1").Set(ctx, "counter:value", "1", 0).Err(); err != nil {
		t.Errorf("SET on a one-node master: %v", err)
	}
}
