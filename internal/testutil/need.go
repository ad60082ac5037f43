package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// NeedRoot skips tb, saying why root is needed, unless it runs as root
// (CI does).
func NeedRoot(tb testing.TB, why string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("SKIPPED: needs root: %s (CI runs as root)", why)
	}
}

// NeedTool returns the path of an installed program, or skips tb naming the
// Debian package that has it.
func NeedTool(tb testing.TB, name, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("SKIPPED: %s is missing (apt-get install %s)", name, pkg)
	}
	return p
}
