package redisconf

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"counter/internal/testutil"
)

// Fixed secrets for the golden files; real ones are random.
const (
	testCounterdPassword    = "counterd-password-0123456789"
	testReplicationPassword = `replication-"pass\word-0123456789`
	testSentinelPassword    = "sentinel-password-0123456789"
)

func goldenParams(role Role) Params {
	p := Params{
		Role:                role,
		Node:                string(role),
		Bind:                []netip.Addr{netip.MustParseAddr("198.51.100.10")},
		CounterdPassword:    testCounterdPassword,
		ReplicationPassword: testReplicationPassword,
		SentinelPassword:    testSentinelPassword,
		CounterctlPassword:  testCounterctlPassword,
		MinReplicasToWrite:  1,
		MaxMemory:           1 << 30,
	}
	switch role {
	case RoleMirror:
		p.Bind = []netip.Addr{netip.MustParseAddr("198.51.100.11")}
		p.Master = "198.51.100.10"
	case RoleReplica:
		p.Node = "oceania"
		p.Bind = []netip.Addr{netip.MustParseAddr("198.51.100.60"), netip.MustParseAddr("2001:db8::60")}
		p.Master = "master.counter.example.net"
		p.MaxMemory = 0
	}
	return p
}

func TestRenderGolden(t *testing.T) {
	for _, role := range []Role{RoleMaster, RoleMirror, RoleReplica} {
		t.Run(string(role), func(t *testing.T) {
			got, err := Render(goldenParams(role))
			if err != nil {
				t.Fatal(err)
			}
			again, err := Render(goldenParams(role))
			if err != nil || !bytes.Equal(got, again) {
				t.Fatalf("second Render differs (err %v): output must be deterministic", err)
			}
			testutil.Golden(t, filepath.Join("testdata", string(role)+".conf"), got)
		})
	}
}

// TestRenderSecurityLines checks, per role, the lines that keep the node
// closed, independently of the golden files.
func TestRenderSecurityLines(t *testing.T) {
	tests := []struct {
		name string
		role Role
		want []string
		not  []string
	}{
		{name: "master", role: RoleMaster,
			want: []string{"bind 127.0.0.1 -::1 198.51.100.10", "port 0", "tls-port 6380", "appendonly yes", "appendfsync everysec", "replica-priority 10", "maxmemory 1073741824"},
			not:  []string{"replicaof"}},
		{name: "mirror", role: RoleMirror,
			want: []string{"bind 127.0.0.1 -::1 198.51.100.11", "replicaof 198.51.100.10 6380", "appendonly yes", "replica-priority 10"}},
		{name: "replica", role: RoleReplica,
			want: []string{"bind 127.0.0.1 -::1 198.51.100.60 2001:db8::60", "replicaof master.counter.example.net 6380", "appendonly yes", "replica-priority 100"},
			not:  []string{"maxmemory 0", "maxmemory 1"}},
	}
	common := []string{
		"tls-auth-clients yes", "tls-replication yes", "user default reset ~* &* +@all",
		"maxmemory-policy noeviction", "replica-read-only yes", "min-replicas-to-write 1", "min-replicas-max-lag 10",
		"supervised systemd", "dir /var/lib/redis", "tls-cert-file /etc/redis/tls/redis.crt",
		"masteruser replication", `masterauth "replication-\"pass\\word-0123456789"`,
		"user replication reset on #" + sha256Hex(testReplicationPassword) + " +psync +replconf +ping",
		"user counterd reset on #" + sha256Hex(testCounterdPassword) + " ~counter:* &counter:* -@all +hello",
		"user counterctl reset on #" + sha256Hex(testCounterctlPassword) +
			" -@all +ping +info +config|get +config|set +config|rewrite +client|pause +client|unpause +replicaof",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render(goldenParams(tt.role))
			if err != nil {
				t.Fatal(err)
			}
			conf := string(out)
			for _, w := range append(tt.want, common...) {
				if !hasLine(conf, w) {
					t.Errorf("no line starting %q", w)
				}
			}
			for _, n := range tt.not {
				if hasLine(conf, n) {
					t.Errorf("unexpected line starting %q", n)
				}
			}
			if strings.Contains(conf, testCounterdPassword) {
				t.Error("counterd's password is written in clear")
			}
			var binds int
			for _, l := range strings.Split(conf, "\n") {
				if strings.HasPrefix(l, "bind ") {
					binds++
				}
			}
			if binds != 1 {
				t.Errorf("%d bind lines, want 1", binds)
			}
		})
	}
}

func hasLine(conf, prefix string) bool {
	for _, l := range strings.Split(conf, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Params)
		want   string
	}{
		{name: "role", change: func(p *Params) { p.Role = "primary" }, want: `Role: "primary" is not master`},
		{name: "node", change: func(p *Params) { p.Node = "Na\nbind 0.0.0.0" }, want: "Node:"},
		{name: "no bind", change: func(p *Params) { p.Bind = nil }, want: "Bind: empty"},
		{name: "wildcard bind", change: func(p *Params) { p.Bind = []netip.Addr{netip.IPv4Unspecified()} }, want: "every interface"},
		{name: "loopback bind", change: func(p *Params) { p.Bind = []netip.Addr{netip.MustParseAddr("127.0.0.1")} }, want: "always bound"},
		{name: "duplicate bind", change: func(p *Params) {
			p.Bind = []netip.Addr{netip.MustParseAddr("198.51.100.20"), netip.MustParseAddr("::ffff:198.51.100.20")}
		}, want: "listed twice"},
		{name: "zero bind", change: func(p *Params) { p.Bind = []netip.Addr{{}} }, want: "Bind[0]: not an address"},
		{name: "port", change: func(p *Params) { p.Port = 70000 }, want: "Port: 70000"},
		{name: "replica without master", change: func(p *Params) { p.Master = "" }, want: "Master: empty"},
		{name: "bad master", change: func(p *Params) { p.Master = "198.51.100.10 6380\nreplicaof evil" }, want: "Master:"},
		{name: "short password", change: func(p *Params) { p.CounterdPassword = "secret" }, want: "CounterdPassword: 6 characters"},
		{name: "newline in password", change: func(p *Params) { p.ReplicationPassword = "replication-password-0123\n" }, want: "trailing newline"},
		{name: "same passwords", change: func(p *Params) { p.ReplicationPassword = p.CounterdPassword }, want: "each user needs its own"},
		{name: "counterctl's password is sentinel's", change: func(p *Params) { p.CounterctlPassword = p.SentinelPassword }, want: "CounterctlPassword: same as another user's"},
		{name: "short counterctl password", change: func(p *Params) { p.CounterctlPassword = "short" }, want: "CounterctlPassword: 5 characters"},
		{name: "glob in prefix", change: func(p *Params) { p.KeyPrefix = "*" }, want: "KeyPrefix"},
		{name: "relative path", change: func(p *Params) { p.Paths.Dir = "var/lib/redis" }, want: "Paths.Dir"},
		{name: "space in path", change: func(p *Params) { p.Paths.TLSKeyFile = "/etc/redis/my key" }, want: "Paths.TLSKeyFile"},
		{name: "socket too long", change: func(p *Params) { p.Paths.UnixSocket = "/" + strings.Repeat("s", 120) }, want: "limit is 107"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goldenParams(RoleReplica)
			tt.change(&p)
			out, err := Render(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render err = %v, want one containing %q", err, tt.want)
			}
			if out != nil {
				t.Error("Render returned a configuration with an error")
			}
		})
	}
	t.Run("master with master", func(t *testing.T) {
		p := goldenParams(RoleMaster)
		p.Master = "198.51.100.11"
		if _, err := Render(p); err == nil || !strings.Contains(err.Error(), "set on the master itself") {
			t.Errorf("Render err = %v, want master-on-master error", err)
		}
	})
	t.Run("every error at once", func(t *testing.T) {
		_, err := Render(Params{})
		for _, field := range []string{"Role", "Node", "Bind", "CounterdPassword", "ReplicationPassword"} {
			if err == nil || !strings.Contains(err.Error(), field+":") {
				t.Errorf("Render(Params{}) err = %v, want it to name %s", err, field)
			}
		}
	})
}

func TestCertSANs(t *testing.T) {
	tests := []struct {
		name    string
		address string
		bind    []netip.Addr
		want    []string
	}{
		{name: "address is the bind address", address: "198.51.100.10", bind: []netip.Addr{netip.MustParseAddr("198.51.100.10")},
			want: []string{"127.0.0.1", "198.51.100.10"}},
		{name: "behind NAT", address: "na.counter.example.net", bind: []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("::ffff:10.0.0.6")},
			want: []string{"10.0.0.5", "10.0.0.6", "127.0.0.1", "na.counter.example.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CertSANs(tt.address, tt.bind); !slices.Equal(got, tt.want) {
				t.Errorf("CertSANs(%q, %v) = %q, want %q", tt.address, tt.bind, got, tt.want)
			}
		})
	}
}
