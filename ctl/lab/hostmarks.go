package lab

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"counter/internal/netnsdir"
)

// Created records host-wide things that exist only because this lab made
// them, so `lab down` removes them and leaves the machine as it found it.
type Created struct {
	StateDir      bool `json:"state_dir,omitempty"` // the --state-dir directory itself
	netnsdir.Made      // /run/netns and its mount, made by the lab's first ip netns add
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
