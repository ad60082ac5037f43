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

// testClosedDoors checks what TestRealCluster's nodes refuse: counterd
// outside its commands, keys and channels; other users and logins; clients
// without a cluster certificate; plain text; strangers on the socket.
func testClosedDoors(t *testing.T, c *cluster, master *node, remoteMaster, local *redis.Client) {
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
