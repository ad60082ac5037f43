package redisconf

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/testutil"
)

const testCounterctlPassword = "counterctl-password-0123456789"

// The ACL user counterctl (counterctl failover) runs what the switchover
// sends a node's Redis, and nothing else: no key, no other admin command.
func TestRealCounterctlUser(t *testing.T) {
	c := newCluster(t)
	c.counterctlPassword = testCounterctlPassword
	master := c.start(t, RoleMaster, "master", "127.0.0.2", nil)
	mirror := c.start(t, RoleMirror, "mirror", "127.0.0.3", master)
	ctl := func(n *node) *redis.Client {
		return c.client(t, n, "127.0.0.1", "counterctl", testCounterctlPassword, []tls.Certificate{c.counterdCert})
	}
	testutil.Poll(t, 20*time.Second, "mirror link up", func(ctx context.Context) error {
		f, err := info(ctx, ctl(mirror), "replication")
		if err != nil {
			return err
		}
		if f["master_link_status"] != "up" {
			return errors.New("link " + f["master_link_status"])
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// What provisioning/switchover sends, in its order.
	allowed := []struct {
		n    *node
		args []any
	}{
		{master, []any{"PING"}},
		{master, []any{"INFO", "replication"}},
		{mirror, []any{"CONFIG", "GET", "replica-priority"}},
		{mirror, []any{"CONFIG", "SET", "replica-priority", "1"}},
		{master, []any{"CLIENT", "PAUSE", "100", "WRITE"}},
		{master, []any{"CLIENT", "UNPAUSE"}},
		{mirror, []any{"REPLICAOF", master.addr, master.port}},
		{mirror, []any{"CONFIG", "SET", "replica-priority", "10"}},
		{mirror, []any{"CONFIG", "REWRITE"}},
	}
	for _, a := range allowed {
		if err := ctl(a.n).Do(ctx, a.args...).Err(); err != nil {
			t.Errorf("counterctl on %s: %v = %v, want allowed", a.n.name, a.args, err)
		}
	}
	for _, args := range [][]any{
		{"GET", "counter:value"}, {"SET", "counter:value", "1"}, {"KEYS", "*"}, {"FLUSHALL"},
		{"ACL", "LIST"}, {"CONFIG", "RESETSTAT"}, {"CLIENT", "KILL", "TYPE", "normal"},
		{"SHUTDOWN"}, {"SAVE"}, {"EVAL", "return 1", "0"}, {"SUBSCRIBE", "counter:events"}, {"MONITOR"},
	} {
		err := ctl(master).Do(ctx, args...).Err()
		if err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("counterctl: %v = %v, want NOPERM", args, err)
		}
	}
	if err := c.client(t, master, "127.0.0.1", "counterctl", c.counterdPassword, []tls.Certificate{c.counterdCert}).Ping(ctx).Err(); err == nil {
		t.Error("counterctl logs in with counterd's password")
	}
}
