package debpkg

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/internal/testutil"
)

// TestSource: nodes provisioned in parallel ask for their architecture in
// both spellings and get one build, identical for all.
func TestSource(t *testing.T) {
	testutil.NeedTool(t, "go", "golang")
	root := moduleRoot(t)
	src := &Source{
		Compiler:   Compiler{ModuleDir: root, CacheDir: t.TempDir()},
		Version:    "v0.1.0",
		Maintainer: testMaintainer,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	archs := []string{"amd64\n", "x86_64", "amd64"}
	got := make([]Built, len(archs))
	errs := make([]error, len(archs))
	var wg sync.WaitGroup
	for i, a := range archs {
		wg.Go(func() { got[i], errs[i] = src.Package(ctx, a) })
	}
	wg.Wait()
	for i := range archs {
		if errs[i] != nil {
			t.Fatalf("Package(%q): %v", archs[i], errs[i])
		}
		if got[i].Package != got[0].Package || !bytes.Equal(got[i].Data, got[0].Data) {
			t.Errorf("Package(%q) = %+v, want the same build as %q: %+v", archs[i], got[i].Package, archs[0], got[0].Package)
		}
		// The very same bytes, not an equal rebuild: built once.
		if len(got[i].Data) > 0 && &got[i].Data[0] != &got[0].Data[0] {
			t.Errorf("Package(%q) built again", archs[i])
		}
	}
	if got[0].Arch != "amd64" || !strings.HasPrefix(got[0].Version, "0.1.0+sha256.") {
		t.Errorf("built %+v, want amd64 0.1.0+sha256.<hash>", got[0].Package)
	}

	if _, err := src.Package(ctx, "sparc64"); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Package(sparc64) = %v, want not supported", err)
	}
}
