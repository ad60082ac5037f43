package debpkg

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot is the module's directory, which the package's builds compile.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		tb.Fatal(err)
	}
	return root
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
