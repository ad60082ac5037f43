package redisinfo_test

import (
	"maps"
	"testing"

	"counter/internal/redisinfo"
	"counter/internal/redistest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		want  redisinfo.Fields
	}{
		{"redis CRLF with a header", "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n",
			redisinfo.Fields{"role": "master", "connected_slaves": "1"}},
		{"redis-cli LF, blank lines", "# Server\nredis_version:7.0.15\n\n# Replication\nrole:slave\n",
			redisinfo.Fields{"redis_version": "7.0.15", "role": "slave"}},
		{"colons in the value", "master_host:::1\r\nexecutable:/usr/bin/redis-server\r\n",
			redisinfo.Fields{"master_host": "::1", "executable": "/usr/bin/redis-server"}},
		{"an error reply", "NOAUTH Authentication required.\n", redisinfo.Fields{}},
		{"nothing", "", redisinfo.Fields{}},
		{"a header with a colon", "# Keyspace: none\r\nrole:master\r\n", redisinfo.Fields{"role": "master"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redisinfo.Parse(tt.reply); !maps.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.reply, got, tt.want)
			}
		})
	}
}

func TestLinkUp(t *testing.T) {
	tests := []struct {
		reply string
		want  bool
	}{
		{"role:slave\r\nmaster_link_status:up\r\n", true},
		{"role:slave\r\nmaster_link_status:down\r\n", false},
		{"role:master\r\nmaster_link_status:up\r\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := redisinfo.Parse(tt.reply).LinkUp(); got != tt.want {
			t.Errorf("Parse(%q).LinkUp() = %v, want %v", tt.reply, got, tt.want)
		}
	}
}

// TestRealReplication reads INFO replication from a real master and its
// replica, so the parser is held to what redis-server really says.
func TestRealReplication(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.Start(t)
	replica.ReplicaOf(master)
	m := redisinfo.Parse(master.Do("INFO", "replication").(string))
	if m["role"] != "master" || m["connected_slaves"] != "1" || m.LinkUp() {
		t.Errorf("master INFO = %v, want role:master, connected_slaves:1, no link", m)
	}
	r := redisinfo.Parse(replica.Do("INFO", "replication").(string))
	if !r.LinkUp() || r["master_host"] != "127.0.0.1" {
		t.Errorf("replica INFO = %v, want role:slave, link up, master_host 127.0.0.1", r)
	}
}

func TestReplicas(t *testing.T) {
	f := redisinfo.Parse("# Replication\r\nrole:master\r\nconnected_slaves:3\r\n" +
		"slave0:ip=10.0.0.2,port=6380,state=online,offset=123,lag=0\r\n" +
		"slave1:ip=::1,port=6381,state=wait_bgsave,offset=0,lag=1\r\n" +
		"slave2:ip=10.0.0.3,port=6380,state=online,offset=x,lag=0\r\n" +
		"slave_read_repl_offset:1\r\nmaster_repl_offset:130\r\n")
	got := map[string]redisinfo.Replica{}
	for _, r := range f.Replicas() {
		got[r.Addr] = r
	}
	want := map[string]redisinfo.Replica{
		"10.0.0.2:6380": {Addr: "10.0.0.2:6380", State: "online", Offset: 123},
		"[::1]:6381":    {Addr: "[::1]:6381", State: "wait_bgsave", Offset: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("Replicas() = %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("Replicas()[%q] = %+v, want %+v", k, got[k], w)
		}
	}
	if n, ok := f.Int("master_repl_offset"); !ok || n != 130 {
		t.Errorf("Int(master_repl_offset) = %d, %v; want 130, true", n, ok)
	}
}
