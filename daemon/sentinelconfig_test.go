package daemon

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestSentinelFlags(t *testing.T) {
	file := writeFile(t, "counterd.yaml", "sentinels: 10.0.0.1:26379,10.0.0.2:26379\nmaster-name: counter\n")
	ok := []struct {
		name string
		args []string
		want []string
	}{
		{"flags", []string{"--sentinels", "10.0.0.1:26379, [::1]:26379", "--master-name", "counter"}, []string{"10.0.0.1:26379", "[::1]:26379"}},
		{"yaml keys", []string{"--config", file}, []string{"10.0.0.1:26379", "10.0.0.2:26379"}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, envOf(nil), io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q) = %v", tc.args, err)
			}
			if got := c.SentinelAddrs(); !slices.Equal(got, tc.want) || c.MasterName != "counter" || c.Master != "" {
				t.Errorf("parseConfig(%q): sentinels %q, master-name %q, master %q; want %q, counter, none", tc.args, got, c.MasterName, c.Master, tc.want)
			}
		})
	}
	bad := []struct {
		name, want string
		args       []string
	}{
		{"master with sentinels", "--master and --sentinels", []string{"--sentinels", "a:1", "--master-name", "n", "--master", "redis://b:2/0"}},
		{"no name", "--sentinels needs --master-name", []string{"--sentinels", "a:1"}},
		{"name alone", "--master-name needs --sentinels", []string{"--master-name", "n"}},
		{"no port", `--sentinels "a": want host:port`, []string{"--sentinels", "a", "--master-name", "n"}},
		{"bad port", `--sentinels "a:0": port must be 1-65535`, []string{"--sentinels", "a:0", "--master-name", "n"}},
		{"twice", `--sentinels "a:1": listed twice`, []string{"--sentinels", "a:1,a:1", "--master-name", "n"}},
		{"unix local", "--sentinels needs --redis as redis://", []string{"--sentinels", "a:1", "--master-name", "n", "--redis", "unix:///run/redis.sock"}},
		{"yaml no name", "--sentinels needs --master-name", []string{"--config", writeFile(t, "s.yaml", "sentinels: a:1\n")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, envOf(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig(%q) = %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}
}
