package debpkg

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"counter/internal/testutil"
)

// TestCompilerKeepsUpToDate: a second build of an unchanged tree leaves
// the binaries in place (go saw them up to date and did not link again),
// the cost a provisioning run with nothing to change must not pay.
func TestCompilerKeepsUpToDate(t *testing.T) {
	testutil.NeedTool(t, "go", "golang")
	root := moduleRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	target, err := ParseArch("amd64")
	if err != nil {
		t.Fatal(err)
	}
	c := Compiler{ModuleDir: root, CacheDir: t.TempDir()}
	first, err := c.Build(ctx, "v0.1.0", target)
	if err != nil {
		t.Fatal(err)
	}
	before := mustStat(t, first.Counterd, first.Counterctl)
	second, err := c.Build(ctx, "v0.1.0", target)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Fatalf("second build at %+v, want %+v", second, first)
	}
	for i, fi := range mustStat(t, second.Counterd, second.Counterctl) {
		// go touches an up-to-date output; a new link would be a new file.
		if !os.SameFile(fi, before[i]) {
			t.Errorf("%s was linked again by a build with nothing changed", fi.Name())
		}
	}
}

// TestSourceCache: a later run (a new Source) over the same cache reuses
// the packed bytes when nothing changed, and packs anew when an input did.
func TestSourceCache(t *testing.T) {
	testutil.NeedTool(t, "go", "golang")
	root := moduleRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bins, debs := t.TempDir(), t.TempDir()
	source := func(maintainer string) *Source {
		return &Source{Compiler: Compiler{ModuleDir: root, CacheDir: bins}, Version: "v0.1.0",
			Maintainer: maintainer, CacheDir: debs}
	}
	first, err := source(testMaintainer).Package(ctx, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if first.FromCache {
		t.Fatal("first package came from an empty cache")
	}
	again, err := source(testMaintainer).Package(ctx, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if !again.FromCache {
		t.Error("same inputs packed again, want the cached package")
	}
	if again.Package != first.Package || !bytes.Equal(again.Data, first.Data) {
		t.Errorf("cached package %+v differs from the packed %+v", again.Package, first.Package)
	}

	other, err := source("Someone Else <else@counter.test>").Package(ctx, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if other.FromCache || other.SHA256 == first.SHA256 {
		t.Errorf("another maintainer got the cached package (FromCache %v, sha256 %s)", other.FromCache, other.SHA256)
	}
}

// TestCachePrune keeps the most recently used packages only.
func TestCachePrune(t *testing.T) {
	c := &debCache{dir: t.TempDir()}
	old := time.Now().Add(-time.Hour)
	for i := range keepDebs + 2 {
		key := string(rune('a' + i))
		if err := os.WriteFile(c.path(key), []byte(key), 0o644); err != nil {
			t.Fatal(err)
		}
		// Older by index, except "a", used last.
		at := old.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(c.path(key), at, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := c.get("a"); err != nil || !ok {
		t.Fatalf(`get("a") = %v, %v`, ok, err)
	}
	if err := c.prune(); err != nil {
		t.Fatal(err)
	}
	for i := range keepDebs + 2 {
		key := string(rune('a' + i))
		_, err := os.Stat(c.path(key))
		// Kept: "a" and the newest keepDebs-1 of the rest: "b" and "c" go.
		want := key != "b" && key != "c"
		if got := err == nil; got != want {
			t.Errorf("%s kept = %v, want %v", key, got, want)
		}
	}
}

func mustStat(tb testing.TB, paths ...string) []os.FileInfo {
	tb.Helper()
	var out []os.FileInfo
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fi)
	}
	return out
}
