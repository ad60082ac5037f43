package host

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skeema/knownhosts"

	"counter/internal/testutil"
	"counter/provisioning/sshx"
	"counter/provisioning/sshx/sshxtest"
)

// dialTest connects to an in-process SSH server that runs commands on this machine.
func dialTest(t *testing.T) *sshx.Client {
	t.Helper()
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	srv := sshxtest.NewServer(t, pub)
	known := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{srv.Addr}, srv.HostKeys[0].PublicKey()) + "\n"
	if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := sshx.Dial(context.Background(), srv.Addr, sshx.Config{User: "root", KeyFile: key, KnownHosts: known, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEnsureFileOverSSH(t *testing.T) {
	testutil.NeedRoot(t, "EnsureFile chowns to root")
	ctx := context.Background()
	h := NewRemote("node", dialTest(t))
	path := filepath.Join(t.TempDir(), "redis.conf")
	f := File{Path: path, Content: []byte("port 6379\nbind 127.0.0.1\n"), Mode: 0o640}

	steps := []struct {
		name     string
		host     Host
		file     File
		wantWhat string // empty: no change
		wantDiff string // a line the diff must hold
		wantDisk string // content on disk afterwards; "" means absent
	}{
		{"dry-run create", h.Dry(), f, "create " + path + " (640:root:root)", "+port 6379", ""},
		{"create", h, f, "create " + path, "+bind 127.0.0.1", string(f.Content)},
		{"unchanged", h, f, "", "", string(f.Content)},
		{"dry-run update", h.Dry(), File{Path: path, Content: []byte("port 6380\nbind 127.0.0.1\n"), Mode: 0o640}, "update " + path, "-port 6379", string(f.Content)},
		{"mode only", h, File{Path: path, Content: f.Content, Mode: 0o600}, "set " + path + " to 600:root:root (was 640:root:root)", "", string(f.Content)},
		{"secret update shows no content", h, File{Path: path, Content: []byte("requirepass hunter2\n"), Mode: 0o600, Secret: true}, "(secret: content not shown)", "", "requirepass hunter2\n"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			c, err := st.host.EnsureFile(ctx, st.file)
			if err != nil {
				t.Fatalf("EnsureFile: %v", err)
			}
			switch {
			case st.wantWhat == "" && c != nil:
				t.Fatalf("EnsureFile = %+v, want no change", c)
			case st.wantWhat != "" && (c == nil || !strings.Contains(c.What, st.wantWhat)):
				t.Fatalf("EnsureFile = %+v, want a change containing %q", c, st.wantWhat)
			}
			if c != nil && !strings.Contains(c.Diff, st.wantDiff) {
				t.Errorf("diff %q lacks %q", c.Diff, st.wantDiff)
			}
			if c != nil && strings.Contains(c.Diff+c.What, "hunter2") {
				t.Errorf("a secret leaked into the change: %+v", c)
			}
			got, err := os.ReadFile(path)
			if st.wantDisk == "" {
				if err == nil {
					t.Errorf("dry run created %s", path)
				}
				return
			}
			if string(got) != st.wantDisk {
				t.Errorf("%s = %q, want %q", path, got, st.wantDisk)
			}
		})
	}
}

func TestEnsurePackagesQueriesRealDpkg(t *testing.T) {
	if _, err := os.Stat("/usr/bin/dpkg-query"); err != nil {
		t.Skip("SKIPPED: no dpkg-query: not a Debian machine")
	}
	h := NewRemote("node", dialTest(t))
	ctx := context.Background()
	c, err := h.EnsurePackages(ctx, "bash", "coreutils")
	if err != nil || c != nil {
		t.Fatalf("EnsurePackages(bash, coreutils) = %+v, %v; want no change: they are installed", c, err)
	}
	// Dry-run only: never install on the machine running the tests.
	c, err = h.Dry().EnsurePackages(ctx, "bash", "ctr-no-such-package", "ctr-no-such-package")
	if err != nil || c == nil || c.What != "install ctr-no-such-package" {
		t.Fatalf("dry EnsurePackages = %+v, %v; want install ctr-no-such-package", c, err)
	}
}

// fakeConn records commands for the paths that would change a real machine.
type fakeConn struct {
	ran [][]string
	out map[string]string // argv[0] -> stdout
}

var _ Conn = (*fakeConn)(nil)

func (f *fakeConn) Run(_ context.Context, argv []string, _ sshx.RunOptions) (sshx.Output, error) {
	f.ran = append(f.ran, argv)
	return sshx.Output{Stdout: []byte(f.out[argv[0]])}, nil
}
func (f *fakeConn) ReadFile(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (f *fakeConn) WriteFile(context.Context, string, []byte, os.FileMode, string, string) error {
	return nil
}

func TestEnsurePackagesInstallsMissing(t *testing.T) {
	fc := &fakeConn{out: map[string]string{"dpkg-query": "redis-server installed\nredis-sentinel not-installed\n"}}
	c, err := NewRemote("n", fc).EnsurePackages(context.Background(), "redis-server", "redis-sentinel", "knot")
	if err != nil || c == nil || c.What != "install redis-sentinel knot" {
		t.Fatalf("EnsurePackages = %+v, %v; want install redis-sentinel knot", c, err)
	}
	last := fc.ran[len(fc.ran)-1]
	if want := []string{"install", "--no-install-recommends", "--", "redis-sentinel", "knot"}; !slices.Equal(last[len(last)-len(want):], want) {
		t.Errorf("install argv = %q, want it to end with %q", last, want)
	}
	if len(fc.ran) != 3 || !slices.Contains(fc.ran[1], "update") {
		t.Errorf("commands = %q, want dpkg-query, apt-get update, apt-get install", fc.ran)
	}
}

func TestRestartIfChanged(t *testing.T) {
	tests := []struct {
		name    string
		dry     bool
		changes []*Change
		wantRun bool
		want    string
	}{
		{"nothing changed", false, []*Change{nil, nil}, false, ""},
		{"a file changed", false, []*Change{nil, {What: "update /etc/redis/redis.conf"}}, true, "restart redis-server after: update /etc/redis/redis.conf"},
		{"dry run describes", true, []*Change{{What: "create /etc/x"}}, false, "would run systemctl restart -- redis-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeConn{}
			var h Host = NewRemote("n", fc)
			if tt.dry {
				h = NewRemote("n", fc).Dry()
			}
			c, err := h.RestartIfChanged(context.Background(), "redis-server", tt.changes...)
			if err != nil {
				t.Fatal(err)
			}
			if (c == nil) != (tt.want == "") || (c != nil && !strings.Contains(c.What, tt.want)) {
				t.Fatalf("RestartIfChanged = %+v, want %q", c, tt.want)
			}
			if ran := len(fc.ran) > 0; ran != tt.wantRun {
				t.Errorf("ran %q, want a restart: %v", fc.ran, tt.wantRun)
			}
		})
	}
}
