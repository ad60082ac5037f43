package firewall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"counter/internal/testutil"
)

func TestEnsureInclude(t *testing.T) {
	debian, err := os.ReadFile("testdata/debian12-nftables.conf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		conf        string
		wantChanged bool
		wantSuffix  string
	}{
		{"debian default", string(debian), true, "\n" + includeLine + "\n"},
		{"no file", "", true, "#!/usr/sbin/nft -f\n\n# counterctl: the cluster's table inet counterctl\n" + includeLine + "\n"},
		{"no final newline", "flush ruleset", true, "flush ruleset\n\n# counterctl: the cluster's table inet counterctl\n" + includeLine + "\n"},
		{"glob already there", "flush ruleset\ninclude \"/etc/nftables.d/*.nft\"\n", false, "include \"/etc/nftables.d/*.nft\"\n"},
		{"our file by name", "\tinclude   \"/etc/nftables.d/counter.nft\"\n", false, "counter.nft\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := EnsureInclude([]byte(tc.conf))
			if changed != tc.wantChanged || !strings.HasSuffix(string(got), tc.wantSuffix) {
				t.Errorf("EnsureInclude(%q) = %q, %v; want suffix %q, %v", tc.conf, got, changed, tc.wantSuffix, tc.wantChanged)
			}
			if !strings.HasPrefix(string(got), tc.conf) {
				t.Errorf("EnsureInclude(%q) = %q, which does not keep the conf", tc.conf, got)
			}
			if again, changed := EnsureInclude(got); changed || string(again) != string(got) {
				t.Errorf("second EnsureInclude changed %q to %q", got, again)
			}
		})
	}
}

// TestBootLoadsDebianConfWithOurTable loads, as nftables.service does at
// boot, Debian's default conf (with its `flush ruleset`) plus our include,
// in a namespace: Debian's table and ours both end up there.
func TestBootLoadsDebianConfWithOurTable(t *testing.T) {
	requireNetAdmin(t)
	ns := newNetns(t, testutil.RandHex(t, 3), "i")
	dir := t.TempDir()
	debian, err := os.ReadFile("testdata/debian12-nftables.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := EnsureInclude(debian)
	// Point the include at the test's directory instead of the host's.
	conf = []byte(strings.Replace(string(conf), IncludeGlob, filepath.Join(dir, "*.nft"), 1))
	rules, err := Render(cluster(Mirror))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"nftables.conf": conf, "counter.nft": rules} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	confPath := filepath.Join(dir, "nftables.conf")
	testutil.Run(t, inNetns(ns, "nft", "-f", confPath)...)
	testutil.Run(t, inNetns(ns, "nft", "-f", confPath)...) // a reload
	tables := testutil.Run(t, inNetns(ns, "nft", "list", "tables")...)
	if tables != "table inet filter\ntable inet "+Table+"\n" {
		t.Errorf("tables after loading the conf twice = %q, want Debian's filter and ours", tables)
	}
}

func TestParseDropped(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    Dropped
		wantErr bool
	}{
		{"nft 1.0.6", `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"counter": {"family": "inet", "name": "input_dropped", "table": "counterctl", "handle": 3, "packets": 12, "bytes": 720}}]}`, Dropped{12, 720}, false},
		{"other counter", `{"nftables": [{"counter": {"name": "x", "packets": 1, "bytes": 2}}]}`, Dropped{}, true},
		{"not json", `Error: No such file or directory`, Dropped{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDropped([]byte(tc.out))
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("ParseDropped(%q) = %+v, %v; want %+v, error %v", tc.out, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
