package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"counter/internal/redisinfo"
)

func TestClientOptions(t *testing.T) {
	o := Options{Timeout: 300 * time.Millisecond, PoolSize: 4}
	tests := []struct {
		name, url, password    string
		wantAddr, wantPassword string
		wantUser               string
		wantDB                 int
		wantTLS                bool
	}{
		{name: "plain", url: "redis://10.0.0.1:6379/0", wantAddr: "10.0.0.1:6379"},
		{name: "db and default port", url: "redis://cache.example/3", wantAddr: "cache.example:6379", wantDB: 3},
		{name: "password in url wins", url: "redis://:inurl@h:1/0", password: "fromfile", wantAddr: "h:1", wantPassword: "inurl"},
		{name: "password from option", url: "redis://h:1/0", password: "fromfile", wantAddr: "h:1", wantPassword: "fromfile"},
		{name: "acl user", url: "redis://counterd:pw@h:1", wantAddr: "h:1", wantUser: "counterd", wantPassword: "pw"},
		{name: "tls", url: "rediss://h.example:6380/0", wantAddr: "h.example:6380", wantTLS: true},
		{name: "ipv6", url: "redis://[::1]:6379", wantAddr: "[::1]:6379"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, redacted, err := clientOptions(tt.url, tt.password, tlsMaterial{}, o)
			if err != nil {
				t.Fatalf("clientOptions(%q) error: %v", tt.url, err)
			}
			if got.Addr != tt.wantAddr || got.Password != tt.wantPassword || got.Username != tt.wantUser || got.DB != tt.wantDB {
				t.Errorf("clientOptions(%q) = addr %q user %q password %q db %d; want %q %q %q %d",
					tt.url, got.Addr, got.Username, got.Password, got.DB, tt.wantAddr, tt.wantUser, tt.wantPassword, tt.wantDB)
			}
			if (got.TLSConfig != nil) != tt.wantTLS {
				t.Errorf("clientOptions(%q) TLS = %v, want %v", tt.url, got.TLSConfig != nil, tt.wantTLS)
			}
			if got.ReadTimeout != o.Timeout || got.DialTimeout != o.Timeout || got.PoolSize != 4 {
				t.Errorf("clientOptions(%q): read timeout %s dial timeout %s pool %d; want %s, %s, 4",
					tt.url, got.ReadTimeout, got.DialTimeout, got.PoolSize, o.Timeout, o.Timeout)
			}
			if tt.wantPassword != "" && strings.Contains(redacted, tt.wantPassword) {
				t.Errorf("redacted url %q shows the password", redacted)
			}
		})
	}
}

func TestClientOptionsErrors(t *testing.T) {
	const secret = "hunter2"
	tests := []struct {
		name, url, want string
	}{
		{"empty", "", "empty redis url"},
		{"http scheme", "http://:" + secret + "@h:1/0", "scheme must be redis or rediss"},
		{"unix socket", "unix:///run/redis.sock", "scheme must be redis or rediss"},
		{"no scheme", "h:6379", "scheme must be redis or rediss"},
		{"no host", "redis://:" + secret + "@:6379/0", "missing host"},
		{"bad db", "redis://:" + secret + "@h:1/zero", "invalid database number"},
		{"query options", "redis://:" + secret + "@h:1/0?pool_size=1000", "query options are not supported"},
		{"unparsable", "redis://:" + secret + "@h:port/0", "invalid redis url"},
		{"control char", "redis://:" + secret + "@h:1/0\x7f", "invalid redis url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := clientOptions(tt.url, "", tlsMaterial{}, Options{Timeout: time.Second})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("clientOptions(%q) error = %v, want it to contain %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q leaks the password", err)
			}
		})
	}
}

func TestOpenValidates(t *testing.T) {
	ok := "redis://127.0.0.1:1/0"
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"bad local", Options{LocalURL: "http://x"}, "local: redis url"},
		{"bad master", Options{LocalURL: ok, MasterURL: "redis://"}, "master: redis url"},
		{"poll too slow", Options{LocalURL: ok, PollInterval: 2 * time.Second}, "poll interval"},
		{"negative timeout", Options{LocalURL: ok, Timeout: -time.Second}, "timeout"},
		{"tiny window", Options{LocalURL: ok, Window: time.Millisecond}, "window"},
		{"missing ca file", Options{LocalURL: ok, CAFile: "/nonexistent/ca.pem"}, "redis ca file"},
		{"ca file without certificates", Options{LocalURL: ok, CAFile: "url_test.go"}, "no PEM certificates"},
		{"client certificate without key", Options{LocalURL: ok, CertFile: "url_test.go"}, "both the certificate and the key"},
		{"client certificate unreadable", Options{LocalURL: ok, CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}, "redis client certificate"},
		{"hash memory absurd", Options{LocalURL: ok, Hash: HashParams{Time: 1, MemoryKiB: 1 << 30, Threads: 1}}, "hash parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.o)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded, want error containing %q", tt.o, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestConfirmedAt(t *testing.T) {
	polled := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, info string
		want       time.Time
	}{
		{"master", "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n", polled},
		{"replica link up", "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:3\r\n", polled.Add(-3 * time.Second)},
		{"replica link down", "# Replication\r\nrole:slave\r\nmaster_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\n", time.Time{}},
		{"no role (not INFO replication)", "# Server\r\nredis_version:7.0.15\r\n", time.Time{}},
		{"replica no io yet", "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:-1\r\n", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := confirmedAt(redisinfo.Parse(tt.info), polled); !got.Equal(tt.want) {
				t.Errorf("confirmedAt(%q) = %v, want %v", tt.info, got, tt.want)
			}
		})
	}
}
