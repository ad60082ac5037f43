package redisconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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
	requireRedisServer(t)
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
			waitFor(t, tt.n.name+" master_link_status:up", 20*time.Second, func(ctx context.Context) error {
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

	t.Run("AOF on master and mirror only", func(t *testing.T) {
		for _, tt := range []struct {
			n   *node
			aof string
		}{{master, "1"}, {mirror, "1"}, {replica, "0"}} {
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
		waitFor(t, "value on the replica", 10*time.Second, func(ctx context.Context) error {
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

	t.Run("counterd refused outside its rights", func(t *testing.T) {
		// Inside scripts Redis words the refusal differently.
		const inScript = "can't access at least one of the keys"
		tests := []struct {
			cmd  []any
			want string
		}{
			{cmd: []any{"FLUSHALL"}}, {cmd: []any{"FLUSHDB"}},
			{cmd: []any{"CONFIG", "GET", "maxmemory"}}, {cmd: []any{"CONFIG", "SET", "maxmemory", "1"}},
			{cmd: []any{"GET", "other:key"}}, {cmd: []any{"SET", "other:key", "1"}}, {cmd: []any{"KEYS", "*"}},
			{cmd: []any{"SCRIPT", "FLUSH"}}, {cmd: []any{"PUBLISH", "other:events", "1"}}, {cmd: []any{"ACL", "LIST"}},
			{cmd: []any{"REPLICAOF", "NO", "ONE"}}, {cmd: []any{"SHUTDOWN"}}, {cmd: []any{"DEBUG", "SLEEP", "0"}, want: "DEBUG command not allowed"}, // enable-debug-command no
			{cmd: []any{"EVAL", "return redis.call('SET', 'other:key', 1)", "0"}, want: inScript},
			{cmd: []any{"EVAL", "return redis.call('FLUSHALL')", "0"}, want: "can't run this command"},
			{cmd: []any{"EVAL", "return redis.call('DEL', KEYS[1])", "1", "other:key"}},
		}
		for _, tt := range tests {
			if tt.want == "" {
				tt.want = "NOPERM"
			}
			t.Run(fmt.Sprint(tt.cmd...), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := remoteMaster.Do(ctx, tt.cmd...).Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%v as counterd: err %v, want %q", tt.cmd, err, tt.want)
				}
			})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ps := local.Subscribe(ctx, "other:events")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Errorf("SUBSCRIBE other:events: err %v, want NOPERM", err)
		}
		if n, err := remoteMaster.Exists(ctx, "counter:value").Result(); err != nil || n != 1 {
			t.Errorf("counter:value after the refused FLUSHALL: exists %d, %v", n, err)
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

	t.Run("logins refused", func(t *testing.T) {
		tests := []struct {
			name, user, password string
			cmd                  []any
			want                 string
		}{
			{name: "default user without password", cmd: []any{"PING"}, want: "NOAUTH"},
			{name: "default user with a password", user: "default", password: "anything-at-all-123", cmd: []any{"PING"}, want: "WRONGPASS"},
			{name: "counterd with a wrong password", user: "counterd", password: "wrong-password-0123456789", cmd: []any{"PING"}, want: "WRONGPASS"},
			{name: "replication user reading data", user: "replication", password: c.replicationPassword, cmd: []any{"GET", "counter:value"}, want: "NOPERM"},
			{name: "replication user writing", user: "replication", password: c.replicationPassword, cmd: []any{"SET", "counter:value", "0"}, want: "NOPERM"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				cl := c.client(t, master, master.addr, tt.user, tt.password, []tls.Certificate{c.counterdCert})
				err := cl.Do(ctx, tt.cmd...).Err()
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
					t.Errorf("%v as %q: err %v, want %s", tt.cmd, tt.user, err, tt.want)
				}
			})
		}
		// The replication user's own commands work: PING is one of them.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		repl := c.client(t, master, master.addr, "replication", c.replicationPassword, []tls.Certificate{c.counterdCert})
		if err := repl.Ping(ctx).Err(); err != nil {
			t.Errorf("PING as replication: %v", err)
		}
	})

	t.Run("TLS port refuses clients without a cluster certificate", func(t *testing.T) {
		foreign := newCluster(t) // another CA
		tests := []struct {
			name  string
			certs []tls.Certificate
		}{
			{name: "no client certificate"},
			{name: "certificate from another CA", certs: []tls.Certificate{foreign.counterdCert}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				cl := c.client(t, master, master.addr, "counterd", c.counterdPassword, tt.certs)
				err := cl.Ping(ctx).Err()
				if err == nil {
					t.Fatal("PING answered")
				}
				if errors.Is(err, context.DeadlineExceeded) || strings.HasPrefix(err.Error(), "NOAUTH") {
					t.Errorf("PING: %v; want the TLS handshake refused", err)
				}
			})
		}
	})

	t.Run("no plain text on the node address", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(master.addr, strconv.Itoa(master.port)), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
			return // refused already
		}
		got, err := io.ReadAll(conn)
		if strings.Contains(string(got), "PONG") {
			t.Errorf("plain-text PING on %s answered %q", conn.RemoteAddr(), got)
		}
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() {
			t.Errorf("plain-text connection left open (%v); want it closed", err)
		}
	})

	t.Run("unix socket for root only", func(t *testing.T) {
		fi, err := os.Stat(master.paths.UnixSocket)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("socket mode %v, want 0700", fi.Mode().Perm())
		}
		cl := redis.NewClient(&redis.Options{
			Network: "unix", Addr: master.paths.UnixSocket,
			Username: "counterd", Password: c.counterdPassword, DisableIdentity: true,
			DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1,
		})
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cl.Ping(ctx).Err(); err != nil {
			t.Errorf("PING over the socket as counterd: %v", err)
		}
		anon := redis.NewClient(&redis.Options{Network: "unix", Addr: master.paths.UnixSocket, DisableIdentity: true, MaxRetries: -1})
		defer anon.Close()
		if err := anon.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
			t.Errorf("PING over the socket without login: err %v, want NOAUTH", err)
		}
	})
}
