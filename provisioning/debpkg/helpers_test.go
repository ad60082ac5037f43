package debpkg

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func mustMatchGolden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		tb.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// mustLintClean runs lintian on a .deb and fails on any error tag; the
// warnings and infos are logged so a reader sees what lintian thinks.
func mustLintClean(tb testing.TB, deb string) {
	tb.Helper()
	cmd := exec.Command("lintian", "--display-info", "--tag-display-limit", "0", "--fail-on", "error", deb)
	out, err := cmd.CombinedOutput()
	var errs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		tb.Log("lintian: " + line)
		if strings.HasPrefix(line, "E: ") {
			errs = append(errs, line)
		}
	}
	if err != nil || len(errs) > 0 {
		tb.Errorf("lintian found errors (%v):\n%s", err, strings.Join(errs, "\n"))
	}
}
