package labtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// HostTrace is what of the lab's host-wide traces exists on this machine
// before a lab comes up: `lab down` must leave it exactly so.
type HostTrace struct {
	NetnsDir, NetnsMount bool
}

// TraceBefore notes the host's /run/netns (directory, and the bind mount
// that the first `ip netns add` on a machine makes) before a lab is up.
func TraceBefore(tb testing.TB) HostTrace {
	tb.Helper()
	var h HostTrace
	_, err := os.Stat("/run/netns")
	h.NetnsDir = err == nil
	h.NetnsMount = mounted(tb, "/run/netns")
	return h
}

// CheckNoTrace fails the test if, after `lab down`, /run/netns is mounted or
// present where it was not before, or the state directory keeps its lock.
// Other tests on this machine may add namespaces meanwhile; a namespace in
// /run/netns is then theirs and keeps the mount, which is reported.
func CheckNoTrace(tb testing.TB, before HostTrace, stateDir string) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(stateDir, "lock")); err == nil {
		tb.Errorf("lock file %s left after lab down", filepath.Join(stateDir, "lock"))
	}
	entries, _ := os.ReadDir("/run/netns")
	var others []string
	for _, e := range entries {
		others = append(others, e.Name())
	}
	if len(others) > 0 {
		tb.Logf("namespaces in /run/netns after lab down (not the lab's, or the checks below fail): %v", others)
	}
	if !before.NetnsMount && mounted(tb, "/run/netns") && len(others) == 0 {
		tb.Error("/run/netns is a mount point after lab down; it was not before up")
	}
	if _, err := os.Stat("/run/netns"); err == nil && !before.NetnsDir && len(others) == 0 {
		tb.Error("/run/netns exists after lab down; it did not before up")
	}
}

func mounted(tb testing.TB, path string) bool {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}
