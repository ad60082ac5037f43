// Package netnsdir undoes what the first `ip netns add` on a machine leaves
// behind: the /run/netns directory and its bind mount onto itself (shared,
// so namespaces show in every mount namespace). Nothing in iproute2 removes
// either, so whoever adds a namespace on a machine that had none notes it
// here first and removes them when its namespaces are gone.
package netnsdir

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where `ip netns` keeps its namespaces.
const Dir = "/run/netns"

// Made records what of Dir exists only because the caller's `ip netns add`
// made it. It is kept in the lab's state file between `up` and `down`.
type Made struct {
	Dir   bool `json:"netns_dir,omitempty"`   // the directory
	Mount bool `json:"netns_mount,omitempty"` // its bind mount onto itself
}

// Before is what of Dir existed before an `ip netns add`.
type Before struct{ dir, mount bool }

// Note reads what of Dir exists now; call it before `ip netns add`.
func Note() Before {
	_, err := os.Stat(Dir)
	m, _ := isMountPoint(Dir)
	return Before{dir: err == nil, mount: m}
}

// Made is what exists now and did not at Note.
func (b Before) Made() Made {
	var m Made
	if _, err := os.Stat(Dir); err == nil && !b.dir {
		m.Dir = true
	}
	if mounted, _ := isMountPoint(Dir); mounted && !b.mount {
		m.Mount = true
	}
	return m
}

// Add merges what a later `ip netns add` made into m.
func (m *Made) Add(o Made) {
	m.Dir = m.Dir || o.Dir
	m.Mount = m.Mount || o.Mount
}

// Remove unmounts and removes what m records, once the caller's namespaces
// are deleted, and only if Dir is empty: a namespace someone else added
// since keeps the mount its file lives on. What it removed is cleared from m.
func (m *Made) Remove() error {
	if !m.Dir && !m.Mount {
		return nil
	}
	entries, err := os.ReadDir(Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		return nil // in use by another program: not ours to take away
	}
	if m.Mount {
		for range 4 { // ip stacks a bind mount; unmount until none is left
			if mounted, err := isMountPoint(Dir); err != nil || !mounted {
				break
			}
			if err := unix.Unmount(Dir, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", Dir, err)
			}
		}
		m.Mount = false
	}
	if m.Dir {
		if err := os.Remove(Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		m.Dir = false
	}
	return nil
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

// In runs fn on an OS thread switched into the network namespace name
// (under Dir), so /proc/sys/net and the sockets fn opens belong to it.
func In(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(Dir + "/" + name)
		if err != nil {
			errc <- fmt.Errorf("open netns %s: %w", name, err)
			runtime.UnlockOSThread()
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", name, err)
			runtime.UnlockOSThread()
			return
		}
		errc <- fn()
		// The thread stays locked (and dies with this goroutine) unless it can go back.
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-errc
}
