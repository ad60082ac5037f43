package debpkg

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

func TestCompilerRefuses(t *testing.T) {
	amd64 := Target{DebArch: "amd64", GOARCH: "amd64"}
	tests := []struct {
		name, version string
		target        Target
		wantErr       string
	}{
		{"path in version", "../../etc", amd64, "want letters, digits"},
		{"space in version", "1.0 beta", amd64, "want letters, digits"},
		{"empty version", "", amd64, "want letters, digits"},
		{"zero target", "v1.0.0", Target{}, "empty target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			_, err := Compiler{ModuleDir: "../..", CacheDir: cache}.Build(context.Background(), tt.version, tt.target)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build(%q, %+v) = %v, want error containing %q", tt.version, tt.target, err, tt.wantErr)
			}
			if entries, _ := os.ReadDir(cache); len(entries) != 0 {
				t.Errorf("refused build left %d entries in the cache", len(entries))
			}
		})
	}
}

// TestCompilerReproducible: provisioning compares package versions, which
// hash the binaries, so two builds of the same tree must be identical or
// every run would reinstall and restart counterd.
func TestCompilerReproducible(t *testing.T) {
	first := mustBinaries(t)
	second := mustBinaries(t)
	for _, pair := range [][2]string{{first.Counterd, second.Counterd}, {first.Counterctl, second.Counterctl}} {
		a, err := os.ReadFile(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s and %s differ: the build is not reproducible", pair[0], pair[1])
		}
	}
	if want := filepath.Join("v0.1.0", "amd64", "counterd"); !strings.HasSuffix(first.Counterd, want) {
		t.Errorf("counterd at %s, want the cache path to end in %s", first.Counterd, want)
	}
}

// TestCrossArchPackage builds for i386, where Go cannot link PIE without a
// C toolchain: the ELF check must see the right machine and lintian must
// accept the static binaries through the shipped override.
func TestCrossArchPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: cross-builds both programs for i386")
	}
	testutil.NeedTool(t, "dpkg-deb", "dpkg")
	root := moduleRoot(t)
	target, err := ParseArch("i686")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bins, err := Compiler{ModuleDir: root, CacheDir: t.TempDir()}.Build(ctx, "v0.1.0", target)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bins.Counterd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_386 || f.Type != elf.ET_EXEC {
		t.Fatalf("counterd for i386 is %s %s, want a static EM_386 executable", f.Machine, f.Type)
	}
	_, path, err := BuildFile(Spec{Version: "v0.1.0", Arch: target.DebArch, CounterdBinary: bins.Counterd,
		CounterctlBinary: bins.Counterctl, Maintainer: testMaintainer}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(mustRun(t, "dpkg-deb", "--field", path, "Architecture")); got != "i386" {
		t.Errorf("Architecture = %q, want i386", got)
	}
	testutil.NeedTool(t, "lintian", "lintian")
	mustLintClean(t, path)
}
