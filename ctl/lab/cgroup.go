package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Each node boots in cgroups of its own. With no systemd on the host to
// give it a scope (--register=no --keep-unit), nspawn keeps the cgroup it
// was started in and splits it into "supervisor" (itself) and "payload"
// (the container's systemd). Started from one process, every node got the
// same two: one tree shared by seven systemds, where one node's
// `systemctl stop redis-server` pruned the unit cgroup another node had
// just made for its own start, which then failed with exit 219/CGROUP
// ("Failed to attach to cgroup ...: No such file or directory"; CI's red
// run of 2026-12-02 11:55).

// cgroupMounts are the host's cgroup hierarchies that systemd tracks
// processes in: the named v1 "systemd" one and the v2 one (the only one on
// a pure v2 host, /sys/fs/cgroup/unified beside the v1 ones on a hybrid
// host). Controller hierarchies (cpu, memory, ...) are left alone.
func cgroupMounts() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 {
			continue
		}
		switch {
		case tail[0] == "cgroup2",
			tail[0] == "cgroup" && slices.Contains(strings.Split(tail[2], ","), "name=systemd"):
			out = append(out, fields[4])
		}
	}
	return out, sc.Err()
}

// cgroupDirs are a member's own cgroups, one per hierarchy in cgroupMounts,
// named like its network namespace.
func cgroupDirs(m Member) ([]string, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, fmt.Errorf("cgroup hierarchies: %w", err)
	}
	dirs := make([]string, len(mounts))
	for i, mnt := range mounts {
		dirs[i] = filepath.Join(mnt, m.Netns())
	}
	return dirs, nil
}

// makeCgroups gives a member fresh cgroups (a dead boot's are removed
// first) and returns them.
func makeCgroups(m Member) ([]string, error) {
	if err := removeCgroups(m); err != nil {
		return nil, err
	}
	dirs, err := cgroupDirs(m)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup for %s: %w", m.Name, err)
		}
	}
	return dirs, nil
}

// inCgroupsArgv runs argv moved into dirs first: sh writes 0 (itself) to
// each cgroup.procs, then execs argv, so nothing of argv ever runs outside
// them. The script is constant; dirs and argv stay separate arguments.
func inCgroupsArgv(dirs, argv []string) []string {
	const script = `n=$1; shift
while [ "$n" -gt 0 ]; do echo 0 >"$1/cgroup.procs" || exit 125; shift; n=$((n-1)); done
exec "$@"`
	out := []string{"sh", "-c", script, "sh", fmt.Sprint(len(dirs))}
	return append(append(out, dirs...), argv...)
}

// removeCgroups removes a member's cgroups, deepest first. The kernel lets
// a cgroup go only once its last process has exited, which may trail the
// nspawn's own exit by a moment: each is retried for a few seconds.
func removeCgroups(m Member) error {
	roots, err := cgroupDirs(m)
	if err != nil {
		return err
	}
	var errs []error
	for _, root := range roots {
		var dirs []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// Walk lists parents before children: remove in reverse.
		for _, d := range slices.Backward(dirs) {
			errs = append(errs, rmdirWhenEmpty(d, 5*time.Second))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove %s's cgroups: %w", m.Name, err)
	}
	return nil
}

func rmdirWhenEmpty(dir string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		err := os.Remove(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LeftCgroups lists the lab's cgroups that exist now: after `lab down`,
// none may.
func LeftCgroups() ([]string, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	var left []string
	for _, mnt := range mounts {
		m, err := filepath.Glob(filepath.Join(mnt, Prefix+"-*"))
		if err != nil {
			return nil, err
		}
		left = append(left, m...)
	}
	return left, nil
}
