package dnswatch

import (
	"strings"
	"testing"
	"time"

	"counter/provisioning/anycast"
)

func TestServiceUnit(t *testing.T) {
	ok := UnitParams{SentinelPasswordFile: "/etc/counter/s.pass", TLSCertFile: "/etc/redis/tls/redis.crt",
		TLSKeyFile: "/etc/redis/tls/redis.key", TLSCAFile: "/etc/redis/tls/ca.crt",
		Counts: anycast.Counts{Rise: 3, Fall: 2}, Interval: time.Second}
	unit, err := ServiceUnit(ok)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--config " + ConfigPath, "LoadCredential=tsig:" + TSIGPath,
		"LoadCredential=tls-key:/etc/redis/tls/redis.key", "--rise 3 --fall 2 --interval 1s"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	tests := []struct {
		name string
		edit func(p *UnitParams)
	}{
		{"space in a path", func(p *UnitParams) { p.TLSCAFile = "/etc/my ca.crt" }},
		{"colon in a credential path", func(p *UnitParams) { p.TSIGFile = "/etc/a:b" }},
		{"relative path", func(p *UnitParams) { p.Config = "dns-watch.json" }},
		{"percent", func(p *UnitParams) { p.SentinelPasswordFile = "/etc/%d" }},
		{"no rise", func(p *UnitParams) { p.Counts.Rise = 0 }},
		{"no interval", func(p *UnitParams) { p.Interval = 0 }},
	}
	for _, tt := range tests {
		p := ok
		tt.edit(&p)
		if _, err := ServiceUnit(p); err == nil {
			t.Errorf("ServiceUnit(%s) = nil error, want one", tt.name)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := testConfig("a")
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"self": "a"`) {
		t.Errorf("Marshal = %s", b)
	}
	bad := testConfig("z")
	if _, err := bad.Marshal(); err == nil || !strings.Contains(err.Error(), `self "z"`) {
		t.Errorf("Marshal with an unknown self: %v", err)
	}
	dup := testConfig("a")
	dup.Nodes = append(dup.Nodes, dup.Nodes[0])
	if err := dup.Validate(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("Validate with a node twice: %v", err)
	}
	if d, ok := c.Distances().Between("na", "eu"); !ok || d != 80*time.Millisecond {
		t.Errorf("Between(na, eu) = %v, %v", d, ok)
	}
}
