package testutil

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

// update is the one switch that rewrites golden files, in every package:
// go test ./pkg/ -run TestX -update, then review the diff.
var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// Golden compares got with the file at path (relative to the package, e.g.
// testdata/x.golden) and fails tb with a diff when they differ. Under
// -update it first writes got there.
func Golden(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (go test -update writes it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)),
		FromFile: path, ToFile: "got", Context: 3,
	})
	if err != nil {
		diff = err.Error()
	}
	tb.Errorf("%s differs from the output (go test -update rewrites it):\n%s", path, diff)
}
