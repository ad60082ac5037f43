package redisconf

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/testutil"
)

// pressScript calls what counter/daemon/store's increment script calls:
// EXISTS, TIME, HGET, INCR, HSET, PUBLISH.
var pressScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local t = redis.call('TIME')
redis.call('HGET', KEYS[2], 'last_inc_us')
local v = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], 'last_inc_us', t[1] .. t[2])
redis.call('PUBLISH', ARGV[1], v)
return v
`)

// TestRealCluster starts a master, a mirror and a replica from rendered
// configurations, with certificates from pki, and checks what the
// configuration promises: TLS replication with the replication user,
// counterd's exact rights, and every other door closed.
func TestRealCluster(t *testing.T) {
	c := newCluster(t)
	master := c.start(t, RoleMaster, "master", "127.0.0.2", nil)
	mirror := c.start(t, RoleMirror, "mirror", "127.0.0.3", master)
	replica := c.start(t, RoleReplica, "na", "127.0.0.4", master)

	// counterd on a replica's node: reads locally over loopback, writes to
	// the master's node address, as across the internet.
	local := c.counterd(t, replica, "127.0.0.1")
	remoteMaster := c.counterd(t, master, master.addr)

	t.Run("replication over TLS with the replication user", func(t *testing.T) {
		for _, tt := range []struct {
			n        *node
			priority string
		}{{mirror, "10"}, {replica, "100"}} {
			cl := c.counterd(t, tt.n, "127.0.0.1")
			testutil.Poll(t, 20*time.Second, tt.n.name+" master_link_status:up", func(ctx context.Context) error {
				f, err := info(ctx, cl, "replication")
				if err != nil {
					return err
				}
				if f["role"] != "slave" || f["master_link_status"] != "up" {
					return fmt.Errorf("role %q link %q", f["role"], f["master_link_status"])
				}
				return nil
			})
			f, err := info(context.Background(), cl, "replication")
			if err != nil {
				t.Fatal(err)
			}
			if f["slave_priority"] != tt.priority || f["slave_read_only"] != "1" || f["master_port"] != strconv.Itoa(master.port) {
				t.Errorf("%s: priority %s read-only %s master port %s; want %s, 1, %d",
					tt.n.name, f["slave_priority"], f["slave_read_only"], f["master_port"], tt.priority, master.port)
			}
		}
		f, err := info(context.Background(), remoteMaster, "replication")
		if err != nil {
			t.Fatal(err)
		}
		if f["role"] != "master" || f["connected_slaves"] != "2" {
			t.Errorf("master: role %q connected_slaves %q, want master with 2", f["role"], f["connected_slaves"])
		}
	})

	t.Run("AOF on every node", func(t *testing.T) {
		for _, tt := range []struct {
			n   *node
			aof string
		}{{master, "1"}, {mirror, "1"}, {replica, "1"}} {
			f, err := info(context.Background(), c.counterd(t, tt.n, "127.0.0.1"), "persistence")
			if err != nil {
				t.Fatal(err)
			}
			if f["aof_enabled"] != tt.aof {
				t.Errorf("%s: aof_enabled %q, want %s", tt.n.name, f["aof_enabled"], tt.aof)
			}
		}
	})

	t.Run("counterd presses on the master and the replica hears it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		ps := local.Subscribe(ctx, "counter:events")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
			t.Fatalf("subscribe on the replica: %v", err)
		}
		if err := remoteMaster.HSetNX(ctx, "counter:user:alice", "hash", "x").Err(); err != nil {
			t.Fatalf("HSETNX: %v", err)
		}
		v, err := pressScript.Run(ctx, remoteMaster, []string{"counter:value", "counter:user:alice"}, "counter:events").Int64()
		if err != nil || v < 1 {
			t.Fatalf("press script = %d, %v; want a value", v, err)
		}
		msg, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("no message on the replica: %v", err)
		}
		if msg.Payload != strconv.FormatInt(v, 10) {
			t.Errorf("replica heard %q, master published %d", msg.Payload, v)
		}
		testutil.Poll(t, 10*time.Second, "value on the replica", func(ctx context.Context) error {
			got, err := local.Get(ctx, "counter:value").Int64()
			if err == nil && got != v {
				err = fmt.Errorf("replica has %d, master %d", got, v)
			}
			return err
		})
	})

	t.Run("counterd's store code within the ACL", func(t *testing.T) {
		testRealStore(t, c, master, replica)
	})

	t.Run("counterd's other commands", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := remoteMaster.Set(ctx, "counter:session:abc", "alice", time.Minute).Err(); err != nil {
			t.Errorf("SET EX: %v", err)
		}
		if got, err := remoteMaster.Get(ctx, "counter:session:abc").Result(); err != nil || got != "alice" {
			t.Errorf("GET = %q, %v", got, err)
		}
		if _, err := remoteMaster.HGet(ctx, "counter:user:alice", "hash").Result(); err != nil {
			t.Errorf("HGET: %v", err)
		}
		if err := remoteMaster.Del(ctx, "counter:session:abc").Err(); err != nil {
			t.Errorf("DEL: %v", err)
		}
		if err := remoteMaster.Eval(ctx, "return redis.call('GET', KEYS[1])", []string{"counter:value"}).Err(); err != nil {
			t.Errorf("EVAL: %v", err)
		}
	})

	t.Run("replica refuses writes", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := local.Set(ctx, "counter:value", "0", 0).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
			t.Errorf("SET on the replica: err %v, want READONLY", err)
		}
	})

	testClosedDoors(t, c, master, remoteMaster, local)
}
