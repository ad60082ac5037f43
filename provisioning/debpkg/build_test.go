package debpkg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cpuguy83/go-md2man/v2/md2man"

	"counter/daemon"
	"counter/internal/testutil"
	"counter/provisioning/raid"
)

const testMaintainer = "Counter Operators <ops@counter.test>"

// mustBinaries cross-builds the real programs for amd64 with the local
// toolchain, as provisioning does.
func mustBinaries(tb testing.TB) Binaries {
	tb.Helper()
	testutil.NeedTool(tb, "go", "golang-go")
	root := moduleRoot(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	target, err := ParseArch("amd64")
	if err != nil {
		tb.Fatal(err)
	}
	b, err := Compiler{ModuleDir: root, CacheDir: tb.TempDir()}.Build(ctx, "v0.1.0", target)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustRun(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPackage builds one .deb from freshly built binaries and inspects it
// with Debian's own tools; the binaries are built once for all subtests.
func TestPackage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SKIPPED: Debian packages are built and checked on Linux")
	}
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	bins := mustBinaries(t)
	spec := Spec{
		Version:          "v0.1.0",
		Arch:             "amd64",
		CounterdBinary:   bins.Counterd,
		CounterctlBinary: bins.Counterctl,
		Maintainer:       testMaintainer,
		// counterd's real page; counterctl's are rendered by package ctl, which imports this one.
		ManPages: func(date time.Time) (map[string][]byte, error) {
			var md bytes.Buffer
			if err := daemon.Manual(&md, date); err != nil {
				return nil, err
			}
			return map[string][]byte{"counterd.8": md2man.Render(md.Bytes())}, nil
		},
	}
	dir := t.TempDir()
	pkg, path, err := BuildFile(spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s (%s)", path, pkg.SHA256)

	t.Run("file name and checksum", func(t *testing.T) {
		if want := "counter_" + pkg.Version + "_amd64.deb"; filepath.Base(path) != want {
			t.Errorf("file %s, want %s", filepath.Base(path), want)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != pkg.SHA256 {
			t.Errorf("Package.SHA256 = %s, file hashes to %s", pkg.SHA256, got)
		}
	})

	t.Run("control fields", func(t *testing.T) {
		want := map[string]string{
			"Package":      "counter",
			"Version":      pkg.Version,
			"Architecture": "amd64",
			"Maintainer":   testMaintainer,
			"Depends":      "adduser",
			"Section":      "net",
			"Priority":     "optional",
		}
		for field, value := range want {
			got := strings.TrimSpace(mustRun(t, "dpkg-deb", "--field", path, field))
			if got != value {
				t.Errorf("dpkg-deb --field %s = %q, want %q", field, got, value)
			}
		}
		if !strings.HasPrefix(pkg.Version, "0.1.0+sha256.") || len(pkg.Version) != len("0.1.0+sha256.")+12 {
			t.Errorf("version %q, want 0.1.0+sha256.<12 hex>", pkg.Version)
		}
		desc := mustRun(t, "dpkg-deb", "--field", path, "Description")
		if !strings.Contains(desc, "/etc/counterd (counterd.yaml") || !strings.Contains(desc, "not a conffile") {
			t.Errorf("description does not tell admins where the config comes from:\n%s", desc)
		}
		info := mustRun(t, "dpkg-deb", "--info", path)
		for _, script := range []string{"postinst", "prerm", "postrm"} {
			if !strings.Contains(info, script) {
				t.Errorf("dpkg-deb --info lists no %s:\n%s", script, info)
			}
		}
	})

	t.Run("contents", func(t *testing.T) {
		// dpkg-deb --contents: perms owner/group size date time path.
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(mustRun(t, "dpkg-deb", "--contents", path)), "\n") {
			f := strings.Fields(line)
			if len(f) != 6 {
				t.Fatalf("unexpected dpkg-deb --contents line %q", line)
			}
			if f[3] != "2026-01-01" {
				t.Errorf("%s: date %s, want the fixed 2026-01-01", f[5], f[3])
			}
			got = append(got, f[0]+" "+f[1]+" "+f[5])
		}
		testutil.Golden(t, filepath.Join("testdata", "contents.golden"), []byte(strings.Join(got, "\n")+"\n"))
	})

	t.Run("shipped files", func(t *testing.T) {
		root := t.TempDir()
		mustRun(t, "dpkg-deb", "--extract", path, root)
		want := map[string]string{
			"lib/systemd/system/counterd.service":           daemon.UnitFile,
			"lib/systemd/system/counter-raid-check.service": raid.ServiceUnit,
			"lib/systemd/system/counter-raid-check.timer":   raid.TimerUnit,
		}
		for name, content := range want {
			got, err := os.ReadFile(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != content {
				t.Errorf("%s differs from the unit the code embeds", name)
			}
		}
		// The binaries run here (amd64) and carry the build version.
		for _, prog := range [][]string{{"usr/bin/counterd", "--version"}, {"usr/bin/counterctl", "version"}} {
			out := mustRun(t, filepath.Join(root, prog[0]), prog[1])
			if !strings.Contains(out, "v0.1.0") {
				t.Errorf("%s %s = %q, want the stamped v0.1.0", prog[0], prog[1], out)
			}
		}
		if page := mustRun(t, "zcat", filepath.Join(root, "usr/share/man/man8/counterd.8.gz")); !strings.Contains(page, `.TH COUNTERD 8 "January 2026"`) {
			t.Errorf("counterd.8 is not dated the package's time (January 2026):\n%.300s", page)
		}
		changelog := mustRun(t, "zcat", filepath.Join(root, "usr/share/doc/counter/changelog.gz"))
		if !strings.HasPrefix(changelog, "counter ("+pkg.Version+") ") {
			t.Errorf("changelog starts %q, want the package version", changelog)
		}
	})

	t.Run("maintainer scripts", func(t *testing.T) {
		ctrl := t.TempDir()
		mustRun(t, "dpkg-deb", "--control", path, ctrl)
		for _, name := range []string{"postinst", "prerm", "postrm"} {
			p := filepath.Join(ctrl, name)
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o755 {
				t.Errorf("%s mode %v, want 0755", name, st.Mode().Perm())
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("#!/bin/sh\n")) || !bytes.Contains(b, []byte("\nset -e\n")) {
				t.Errorf("%s: want #!/bin/sh and set -e", name)
			}
			mustRun(t, "sh", "-n", p)
			if _, err := exec.LookPath("shellcheck"); err == nil {
				mustRun(t, "shellcheck", "--shell=sh", p)
			} else {
				t.Log("shellcheck is missing (apt-get install shellcheck): only sh -n checked")
			}
		}
		// provisioning owns the config, so dpkg must never ask about it.
		if _, err := os.Stat(filepath.Join(ctrl, "conffiles")); err == nil {
			t.Errorf("package has conffiles")
		}
	})

	t.Run("reproducible", func(t *testing.T) {
		var again bytes.Buffer
		p2, err := Build(spec, &again)
		if err != nil {
			t.Fatal(err)
		}
		first, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again.Bytes()) || p2 != pkg {
			t.Errorf("second build differs: %+v vs %+v", p2, pkg)
		}
	})

	t.Run("version follows content", func(t *testing.T) {
		changed := filepath.Join(t.TempDir(), "counterctl")
		b, err := os.ReadFile(bins.Counterctl)
		if err != nil {
			t.Fatal(err)
		}
		// Still a valid amd64 ELF, one byte different.
		if err := os.WriteFile(changed, append(b, 0), 0o755); err != nil {
			t.Fatal(err)
		}
		s := spec
		s.CounterctlBinary = changed
		p2, err := Build(s, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if p2.Version == pkg.Version || p2.SHA256 == pkg.SHA256 {
			t.Errorf("changed counterctl kept version %s / checksum %s", p2.Version, p2.SHA256)
		}
		// Metadata and docs that nodes do not run leave the version alone.
		s = spec
		s.Description = "another synopsis"
		s.Maintainer = "Other Operators <other@counter.test>"
		s.MTime = time.Date(2027, time.March, 1, 0, 0, 0, 0, time.UTC)
		p3, err := Build(s, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if p3.Version != pkg.Version || p3.SHA256 == pkg.SHA256 {
			t.Errorf("new synopsis: version %s checksum %s; want version %s and another checksum", p3.Version, p3.SHA256, pkg.Version)
		}
	})

	t.Run("lintian", func(t *testing.T) {
		testutil.NeedTool(t, "lintian", "lintian")
		mustLintClean(t, path)
	})

	t.Run("bad spec", func(t *testing.T) {
		notELF := filepath.Join(t.TempDir(), "counterd")
		if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			edit    func(*Spec)
			wantErr string
		}{
			{"uname name for arch", func(s *Spec) { s.Arch = "x86_64" }, `want the Debian name "amd64"`},
			{"unknown arch", func(s *Spec) { s.Arch = "sparc64" }, `"sparc64": not supported`},
			{"binaries of another arch", func(s *Spec) { s.Arch = "arm64" }, "built for EM_X86_64, want EM_AARCH64"},
			{"maintainer without name", func(s *Spec) { s.Maintainer = "ops@counter.test" }, "want \"Full Name <address>\""},
			{"missing binary", func(s *Spec) { s.CounterdBinary = "/nonexistent/counterd" }, "no such file"},
			{"not a program", func(s *Spec) { s.CounterdBinary = notELF }, "not an ELF program"},
			{"bad version", func(s *Spec) { s.Version = "1.0 beta" }, "not usable in a Debian version"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := spec
				tt.edit(&s)
				var out bytes.Buffer
				_, err := Build(s, &out)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build(%s) = %v, want error containing %q", tt.name, err, tt.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("Build wrote %d bytes before failing", out.Len())
				}
			})
		}
	})
}
