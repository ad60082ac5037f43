// Package nspawntest boots the lab's Debian 12 image with systemd under
// systemd-nspawn, on a throw-away overlay with a private network (loopback
// only), for tests that need a real systemd. Commands run inside through
// nsenter. It is the one place tests boot a container.
package nspawntest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"counter/internal/testutil"
)

// BaseImage is the Debian 12 root file system `counterctl lab` builds once
// with debootstrap (systemd, adduser, ...).
const BaseImage = "/var/cache/counter-lab/bookworm-base"

// How long a boot may take, and a poweroff.
const (
	bootDeadline = time.Minute
	stopDeadline = 30 * time.Second
)

// Container is a booted system, powered off when the test ends.
type Container struct {
	tb     testing.TB
	leader int // the container's PID 1, seen from the host
}

// NeedImage skips tb unless it can run BaseImage under systemd-nspawn:
// root, the tools, and the image (built by `counterctl lab up`).
func NeedImage(tb testing.TB) {
	tb.Helper()
	testutil.NeedRoot(tb, "systemd-nspawn")
	testutil.NeedTool(tb, "systemd-nspawn", "systemd-container")
	testutil.NeedTool(tb, "nsenter", "util-linux")
	if _, err := os.Stat(filepath.Join(BaseImage, "lib/systemd/systemd")); err != nil {
		tb.Skipf("SKIPPED: no lab base image at %s (run `counterctl lab up` once): %v", BaseImage, err)
	}
}

// Boot boots BaseImage as machine (a name unique on this host) and waits
// until systemd says the system is running (or degraded). args are more
// systemd-nspawn options, e.g. "--bind-ro=DIR:/srv/debs".
func Boot(tb testing.TB, machine string, args ...string) *Container {
	tb.Helper()
	NeedImage(tb)
	argv := append([]string{"--quiet", "--register=no", "--keep-unit", "--boot", "--private-network",
		"--link-journal=no", "--machine=" + machine, "--directory=" + BaseImage,
		"--overlay=" + BaseImage + ":" + tb.TempDir() + ":/"}, args...)
	cmd := exec.Command("systemd-nspawn", argv...)
	var console testutil.Buffer // nspawn writes while a failed boot reads
	cmd.Stdout, cmd.Stderr = &console, &console
	if err := cmd.Start(); err != nil {
		tb.Fatalf("boot %s: %v", machine, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tb.Cleanup(func() {
		// nspawn passes SIGTERM on as a clean poweroff of the container.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopDeadline):
			tb.Errorf("container %s (nspawn pid %d) still up %s after poweroff; killing it", machine, cmd.Process.Pid, stopDeadline)
			_ = cmd.Process.Kill()
			<-done
		}
	})
	c := &Container{tb: tb}
	var nspawnErr error
	err := testutil.Wait(bootDeadline, func(context.Context) error {
		select {
		case nspawnErr = <-done:
			done <- nspawnErr // for the cleanup
			return testutil.Stop(fmt.Errorf("systemd-nspawn exited: %v", nspawnErr))
		default:
		}
		if c.leader == 0 {
			if c.leader = childNamed(cmd.Process.Pid, "systemd"); c.leader == 0 {
				return errors.New("no container init yet")
			}
		}
		out, _ := c.Run("systemctl", "is-system-running")
		if state := strings.TrimSpace(out); state != "running" && state != "degraded" {
			return fmt.Errorf("system %q", state)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("container %s did not boot: %v\n%s", machine, err, console.String())
	}
	return c
}

// Run runs argv in the container's namespaces with a plain environment
// (PATH, DEBIAN_FRONTEND=noninteractive, LANG=C.UTF-8) and returns its
// standard output; a failure carries its standard error.
func (c *Container) Run(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--target", strconv.Itoa(c.leader), "--mount", "--uts", "--ipc", "--net", "--pid", "--"}, argv...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LANG=C.UTF-8"}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// MustRun is Run that fails the test on error.
func (c *Container) MustRun(argv ...string) string {
	c.tb.Helper()
	out, err := c.Run(argv...)
	if err != nil {
		c.tb.Fatalf("in the container: %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

// childNamed returns the pid of a child of parent whose command is name, or 0.
func childNamed(parent int, name string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		j := strings.IndexByte(s, '(')
		if i < 0 || j < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(parent) && s[j+1:i] == name {
			return pid
		}
	}
	return 0
}
