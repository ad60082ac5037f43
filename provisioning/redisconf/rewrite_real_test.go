package redisconf

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"counter/internal/redistest"
	"counter/internal/testutil"
)

// TestRealConfigRewriteSurvivesPowerCut does on real redis-servers, started
// from rendered files, what Sentinel does when it promotes the mirror:
// SLAVEOF and CONFIG REWRITE inside MULTI, as the ACL user sentinel. Then
// both processes die at once and start again from their files alone: the
// mirror must come back as master with the value written after the
// promotion, the old master as its replica. It also checks what provision
// relies on in a rewritten file: its first line (provision's header) is
// kept, Replicaof reads the new role, and the mode under the unit's
// UMask=007 is 0640.
func TestRealConfigRewriteSurvivesPowerCut(t *testing.T) {
	c := newCluster(t)
	c.sentinelPassword = "sentinel-" + testutil.RandHex(t, 16)
	old := syscall.Umask(0o007) // Debian's redis-server.service: UMask=007
	master := c.start(t, RoleMaster, "master", "127.0.0.2", nil)
	mirror := c.start(t, RoleMirror, "mirror", "127.0.0.3", master)
	syscall.Umask(old)
	header := func(n *node) []byte {
		b, err := os.ReadFile(n.confPath)
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := bytes.Cut(b, []byte("\n"))
		return h
	}
	headers := map[*node][]byte{master: header(master), mirror: header(mirror)}

	role := func(ctx context.Context, n *node) (string, error) {
		f, err := info(ctx, c.counterd(t, n, "127.0.0.1"), "replication")
		if err != nil {
			return "", err
		}
		if f["role"] == "slave" {
			if f["master_link_status"] != "up" {
				return "", fmt.Errorf("%s: link %s", n.name, f["master_link_status"])
			}
			return "slave of " + f["master_port"], nil
		}
		return f["role"], nil
	}
	wantRoles := func(what string, mirrorRole, masterRole string) {
		t.Helper()
		testutil.Poll(t, 20*time.Second, what, func(ctx context.Context) error {
			for n, want := range map[*node]string{mirror: mirrorRole, master: masterRole} {
				if got, err := role(ctx, n); err != nil || got != want {
					return fmt.Errorf("%s is %q (%v), want %q", n.name, got, err, want)
				}
			}
			return nil
		})
	}
	wantRoles("mirror replicates", "slave of "+strconv.Itoa(master.port), "master")
	// After a full sync a replica rewrites its append-only file; until
	// that rewrite ends, what it receives is not in the files it would
	// load after a crash (Redis 7.0; docs/failover.md, "Limits"). This
	// test is about the roles Redis saves: promote once the file is whole.
	testutil.Poll(t, 20*time.Second, "the mirror's AOF rewrite after its sync", func(ctx context.Context) error {
		f, err := info(ctx, c.counterd(t, mirror, "127.0.0.1"), "persistence")
		if err == nil && (f["aof_enabled"] != "1" || f["aof_rewrite_in_progress"] != "0" || f["aof_rewrite_scheduled"] != "0" ||
			f["aof_last_bgrewrite_status"] != "ok") {
			err = fmt.Errorf("aof_enabled %s, rewrite in progress %s, scheduled %s, last %s", f["aof_enabled"],
				f["aof_rewrite_in_progress"], f["aof_rewrite_scheduled"], f["aof_last_bgrewrite_status"])
		}
		return err
	})

	// Sentinel's promotion and repointing, as the user sentinel.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, step := range []struct {
		n       *node
		slaveof []any
	}{{mirror, []any{"SLAVEOF", "NO", "ONE"}}, {master, []any{"SLAVEOF", mirror.addr, strconv.Itoa(mirror.port)}}} {
		cl := c.client(t, step.n, "127.0.0.1", "sentinel", c.sentinelPassword, []tls.Certificate{c.counterdCert})
		pipe := cl.TxPipeline()
		pipe.Do(ctx, step.slaveof...)
		rewrite := pipe.Do(ctx, "CONFIG", "REWRITE")
		if _, err := pipe.Exec(ctx); err != nil || rewrite.Err() != nil {
			t.Fatalf("%s: MULTI %v CONFIG REWRITE EXEC: %v, %v", step.n.name, step.slaveof, err, rewrite.Err())
		}
	}
	wantRoles("promotion", "master", "slave of "+strconv.Itoa(mirror.port))

	for n, want := range map[*node]string{mirror: "", master: mirror.addr + " " + strconv.Itoa(mirror.port)} {
		b, err := os.ReadFile(n.confPath)
		if err != nil {
			t.Fatal(err)
		}
		if got := Replicaof(b); got != want {
			t.Errorf("%s: rewritten redis.conf has replicaof %q, want %q", n.name, got, want)
		}
		if !bytes.HasPrefix(b, headers[n]) {
			t.Errorf("%s: CONFIG REWRITE lost provision's first line %q", n.name, headers[n])
		}
		if fi, err := os.Stat(n.confPath); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: rewritten redis.conf mode %v, %v; want 0640", n.name, fi.Mode().Perm(), err)
		}
	}

	// A press after the promotion, on the master and its replica: a script
	// with two writes, as counterd's, which Redis logs in the append-only
	// file as one MULTI/EXEC (replayed at load as the default user).
	w := c.counterd(t, mirror, "127.0.0.1")
	press := "redis.call('SET', KEYS[1], ARGV[1]); redis.call('HSET', KEYS[2], 'last', ARGV[1]); return 1"
	if err := w.Eval(ctx, press, []string{"counter:value", "counter:user:alice"}, "42").Err(); err != nil {
		t.Fatalf("a press on the promoted mirror: %v", err)
	}
	if n, err := w.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want the old master to have it", n, err)
	}

	// Power cut: both die, then start from their files alone.
	master.proc.Kill()
	mirror.proc.Kill()
	for _, n := range []*node{master, mirror} {
		cl := c.counterd(t, n, "127.0.0.1")
		n.proc = redistest.Run(t, n.dir, n.paths.LogFile, func(ctx context.Context) error { return cl.Ping(ctx).Err() }, n.confPath)
	}
	wantRoles("roles after the power cut", "master", "slave of "+strconv.Itoa(mirror.port))
	for _, n := range []*node{mirror, master} {
		if v, err := c.counterd(t, n, "127.0.0.1").Get(ctx, "counter:value").Result(); err != nil || v != "42" {
			t.Errorf("%s after the power cut: counter:value = %q, %v; want 42", n.name, v, err)
		}
	}
}
