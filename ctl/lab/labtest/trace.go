package labtest

import (
	"os"
	"path/filepath"
	"testing"

	"counter/ctl/lab"
	"counter/internal/netnsdir"
)

// HostTrace is what of the lab's host-wide traces exists on this machine
// before a lab comes up: `lab down` must leave it exactly so.
type HostTrace = netnsdir.Before

// TraceBefore notes the host's /run/netns (directory, and the bind mount
// that the first `ip netns add` on a machine makes) before a lab is up.
func TraceBefore(tb testing.TB) HostTrace {
	tb.Helper()
	return netnsdir.Note()
}

// CheckNoTrace fails the test if, after `lab down`, /run/netns is mounted or
// present where it was not before, the state directory keeps its lock, or
// a node's cgroup is left.
// Other tests on this machine may add namespaces meanwhile; a namespace in
// /run/netns is then theirs and keeps the mount, which is reported.
func CheckNoTrace(tb testing.TB, before HostTrace, stateDir string) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(stateDir, "lock")); err == nil {
		tb.Errorf("lock file %s left after lab down", filepath.Join(stateDir, "lock"))
	}
	if left, err := lab.LeftCgroups(); err != nil || len(left) > 0 {
		tb.Errorf("cgroups left after lab down: %v (%v)", left, err)
	}
	entries, _ := os.ReadDir(netnsdir.Dir)
	var others []string
	for _, e := range entries {
		others = append(others, e.Name())
	}
	if len(others) > 0 {
		tb.Logf("namespaces in %s after lab down (not the lab's, or the checks below fail): %v", netnsdir.Dir, others)
		return
	}
	left := before.Made()
	if left.Mount {
		tb.Errorf("%s is a mount point after lab down; it was not before up", netnsdir.Dir)
	}
	if left.Dir {
		tb.Errorf("%s exists after lab down; it did not before up", netnsdir.Dir)
	}
}
