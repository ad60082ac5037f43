package inventory

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string // testdata/<name>.yaml, expected errors in testdata/<name>.golden
		why  string
	}{
		{"unknown-role", "a role typo is named with the allowed values, and does not also claim there is no master"},
		{"unknown-field", "typos in keys are errors at their own line, at every depth"},
		{"two-masters-two-mirrors", "exactly one master, at most one mirror"},
		{"no-master", "a cluster without a master"},
		{"mirror-other-datacenter", "the mirror must share the master's datacenter"},
		{"duplicates", "names and addresses are unique; host names compare case-insensitively"},
		{"bad-values", "every bad value is reported, sorted by line, not just the first"},
		{"secret-refs", "secrets are references: exactly one of file/env, never inline"},
		{"syntax-error", "YAML syntax errors keep their line"},
		{"empty", "an empty file"},
		{"missing-required", "required fields and empty lists"},
		{"wrong-kinds", "a list where a string belongs, and the like"},
		{"repeated-field", "a key given twice is ambiguous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			path := filepath.Join("testdata", tt.name+".yaml")
			inv, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%q) = %+v, nil; want errors (%s)", path, inv, tt.why)
			}
			got := err.Error() + "\n"
			testutil.Golden(t, filepath.Join("testdata", tt.name+".golden"), []byte(got))
			if strings.Contains(got, "s3cr3t") {
				t.Errorf("errors echo an inline secret value:\n%s", got)
			}
			checkSortedFieldErrors(t, err, path)
		})
	}
}

func checkSortedFieldErrors(t *testing.T, err error, path string) {
	t.Helper()
	fes := FieldErrors(err)
	if len(fes) == 0 {
		t.Fatalf("FieldErrors(%v) is empty", err)
	}
	for i, fe := range fes {
		if fe.File != path || fe.Line < 1 {
			t.Errorf("error %d = %+v, want file %q and a line", i, fe, path)
		}
		if i > 0 && fe.Line < fes[i-1].Line {
			t.Errorf("errors not sorted by line: %d after %d", fe.Line, fes[i-1].Line)
		}
	}
}

func TestLoadExample(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	const path = "../../inventory.example.yaml"
	inv, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%q): %v", path, err)
	}
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"cluster", inv.Cluster, "counter"},
		{"zone gets its dot", inv.DNS.Zone, "counter.example.net."},
		{"dns server", inv.DNS.Server, "198.51.100.53:53"},
		{"tsig name", inv.DNS.TSIG.Name, "counter-update."},
		{"tsig secret resolved against the file's dir", inv.DNS.TSIG.Secret, SecretRef{File: filepath.Join(dir, "secrets/tsig.key")}},
		{"key_file ~ expanded", inv.SSH.KeyFile, filepath.Join(home, ".ssh/id_ed25519")},
		{"known_hosts ~ expanded", inv.SSH.KnownHosts, filepath.Join(home, ".ssh/known_hosts")},
		{"connect timeout", inv.SSH.ConnectTimeout, 10 * time.Second},
		{"command timeout", inv.SSH.CommandTimeout, 10 * time.Minute},
		{"admin networks", inv.AdminNetworks, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
		{"pki dir", inv.PKIDir, filepath.Join(dir, "pki")},
		{"raid", inv.RAID, RAIDRequired},
		{"secret path", inv.Secrets["redis_counterd_password"], SecretRef{File: filepath.Join(dir, "secrets/redis-counterd.pass")}},
		{"master", inv.Master().Name, "master"},
		{"node count", len(inv.Nodes), 7},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	var order []string
	for _, n := range inv.Ordered() {
		order = append(order, n.Name)
	}
	if want := []string{"master", "mirror", "africa", "asia", "na", "oceania", "sa"}; !slices.Equal(order, want) {
		t.Errorf("Ordered() = %v, want %v", order, want)
	}

	oc, _ := inv.Node("oceania")
	wantSSH := inv.SSH
	wantSSH.User, wantSSH.Port = "admin", 2222
	if oc.SSH != wantSSH {
		t.Errorf("oceania SSH = %+v, want defaults with user admin, port 2222: %+v", oc.SSH, wantSSH)
	}
	na, _ := inv.Node("na")
	if na.SSH != inv.SSH || na.Datacenter != "na" {
		t.Errorf("na = %+v, want the default SSH settings and datacenter na", na)
	}
	if m, ok := inv.Mirror(); !ok || m.Datacenter != "fra1" {
		t.Errorf("Mirror() = %+v, %v; want mirror in fra1", m, ok)
	}
}

func equal(a, b any) bool {
	if x, ok := a.([]netip.Prefix); ok {
		return slices.Equal(x, b.([]netip.Prefix))
	}
	return a == b
}

func mustLoadExample(t *testing.T) *Inventory {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	inv, err := Load("../../inventory.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestLimit(t *testing.T) {
	inv := mustLoadExample(t)
	tests := []struct {
		name    string
		names   []string
		want    []string
		wantErr string
	}{
		{name: "all", names: nil, want: []string{"master", "mirror", "africa", "asia", "na", "oceania", "sa"}},
		{name: "provisioning order kept", names: []string{"sa", "master"}, want: []string{"master", "sa"}},
		{name: "repeats collapse", names: []string{"na", "na"}, want: []string{"na"}},
		{name: "unknown named", names: []string{"na", "mars", "venus"},
			wantErr: `../../inventory.example.yaml: unknown node "mars", "venus" (the inventory has master, mirror, africa, asia, na, oceania, sa)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := inv.Limit(tt.names)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Limit(%q) error = %v, want %q", tt.names, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Limit(%q): %v", tt.names, err)
			}
			var got []string
			for _, n := range nodes {
				got = append(got, n.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Limit(%q) = %v, want %v", tt.names, got, tt.want)
			}
		})
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"SET": "from-env\n", "EMPTY": ""}
	inv := &Inventory{
		Path: "inv.yaml",
		Secrets: map[string]SecretRef{
			"file":       {File: write("a", "s3cret\n")},
			"crlf":       {File: write("b", "s3cret\r\n")},
			"two-lines":  {File: write("c", "s3cret\n\n")},
			"env":        {Env: "SET"},
			"env-unset":  {Env: "UNSET"},
			"env-empty":  {Env: "EMPTY"},
			"no-file":    {File: filepath.Join(dir, "missing")},
			"empty-file": {File: write("d", "\n")},
		},
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	tests := []struct {
		name, want, wantErr string
	}{
		{name: "file", want: "s3cret"},
		{name: "crlf", want: "s3cret"},
		{name: "two-lines", want: "s3cret\n"},
		{name: "env", want: "from-env"},
		{name: "env-unset", wantErr: "secret env-unset: environment variable UNSET is not set"},
		{name: "env-empty", wantErr: "secret env-empty: $EMPTY is empty"},
		{name: "no-file", wantErr: "secret no-file: open " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{name: "empty-file", wantErr: "secret empty-file: " + filepath.Join(dir, "d") + " is empty"},
		{name: "undefined", wantErr: "secret undefined: not defined under secrets: in inv.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inv.Secret(tt.name)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Secret(%q) = %q, %v; want error %q", tt.name, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "from-env") {
					t.Errorf("error %q leaks a secret value", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("Secret(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
			}
		})
	}
}
