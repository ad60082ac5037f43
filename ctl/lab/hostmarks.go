package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps its namespaces. The first `ip netns
// add` on a machine creates it and bind-mounts it onto itself (shared, so
// namespaces show in every mount namespace); nothing removes either later.
const netnsDir = "/run/netns"

// Created records host-wide things that exist only because this lab made
// them, so `lab down` removes them and leaves the machine as it found it.
type Created struct {
	StateDir   bool `json:"state_dir,omitempty"`   // the --state-dir directory itself
	NetnsDir   bool `json:"netns_dir,omitempty"`   // /run/netns
	NetnsMount bool `json:"netns_mount,omitempty"` // the bind mount of /run/netns onto itself
}

// isMountPoint reports whether path is a mount point in this mount namespace.
func isMountPoint(path string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		// Field 5 is the mount point (octal escapes for spaces: not in ours).
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true, nil
		}
	}
	return false, nil
}

// netnsBefore notes what of /run/netns exists before an `ip netns add`.
type netnsBefore struct{ dir, mount bool }

func noteNetns() netnsBefore {
	var b netnsBefore
	_, err := os.Stat(netnsDir)
	b.dir = err == nil
	b.mount, _ = isMountPoint(netnsDir)
	return b
}

// recordNetns marks what an `ip netns add` made that was not there before.
func (st *State) recordNetns(before netnsBefore) {
	if _, err := os.Stat(netnsDir); err == nil && !before.dir {
		st.Created.NetnsDir = true
	}
	if m, _ := isMountPoint(netnsDir); m && !before.mount {
		st.Created.NetnsMount = true
	}
}

// removeNetnsDir undoes what the lab's first `ip netns add` made, once the
// lab's namespaces are gone and only if no other namespace is there: a
// namespace someone else added since keeps the mount its file lives on.
func (st *State) removeNetnsDir() []error {
	if !st.Created.NetnsMount && !st.Created.NetnsDir {
		return nil
	}
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return []error{err}
	}
	if len(entries) > 0 {
		return nil // in use by another program: not ours to take away
	}
	if st.Created.NetnsMount {
		for range 4 { // ip stacks a bind mount; unmount until none is left
			if m, err := isMountPoint(netnsDir); err != nil || !m {
				break
			}
			if err := unix.Unmount(netnsDir, unix.MNT_DETACH); err != nil {
				return []error{fmt.Errorf("unmount %s: %w", netnsDir, err)}
			}
		}
		st.Created.NetnsMount = false
	}
	if st.Created.NetnsDir {
		if err := os.Remove(netnsDir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return []error{err}
		}
		st.Created.NetnsDir = false
	}
	return nil
}

// removeLock deletes the state directory's lock file while holding it
// (lockFile checks that the file it locked is still the one at its path),
// and the state directory if the lab created it and nothing else is left.
func (l *Lab) removeLock(createdDir bool) error {
	if err := os.Remove(filepath.Join(l.StateDir, "lock")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if createdDir {
		// Fails harmlessly when something else is in it.
		if err := os.Remove(l.StateDir); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
			return err
		}
	}
	return nil
}
