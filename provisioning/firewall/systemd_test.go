package firewall

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

// envSystemdRoot names a Debian root file system with systemd to boot for
// TestRollbackTimerOnSystemd; the default is the lab's cached base image.
const envSystemdRoot = "CTR_SYSTEMD_ROOT"

// container is a Debian system booted with systemd-nspawn on a throw-away
// overlay, with a private network, for commands that need a real systemd.
type container struct {
	t    *testing.T
	init int // pid of the container's systemd, for nsenter
}

func bootContainer(t *testing.T) *container {
	t.Helper()
	requireNetAdmin(t)
	root := os.Getenv(envSystemdRoot)
	if root == "" {
		root = "/var/cache/counter-lab/bookworm-base"
	}
	if _, err := os.Stat(root + "/lib/systemd/systemd"); err != nil {
		t.Skipf("SKIP: no root file system with systemd at %s (set %s, or run `counterctl lab up` once to build it): %v", root, envSystemdRoot, err)
	}
	testutil.NeedTool(t, "systemd-nspawn", "systemd-container")
	testutil.NeedTool(t, "nsenter", "util-linux")
	var log bytes.Buffer
	cmd := exec.Command("systemd-nspawn", "--quiet", "--directory="+root, "--volatile=overlay",
		"--boot", "--register=no", "--keep-unit", "--link-journal=no", "--private-network",
		"--machine=ctr-fwt-"+shortRand(t), "--console=read-only")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &container{t: t}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if c.init != 0 {
			c.exec("systemctl", "poweroff")
		}
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			t.Errorf("container (nspawn pid %d) still up 20s after poweroff; killing it", cmd.Process.Pid)
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c.init == 0 {
			children, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + strconv.Itoa(cmd.Process.Pid) + "/children")
			if f := strings.Fields(string(children)); len(f) > 0 {
				c.init, _ = strconv.Atoi(f[0])
			}
		}
		if c.init != 0 {
			out, _ := c.exec("systemctl", "is-system-running")
			if s := strings.TrimSpace(string(out)); s == "running" || s == "degraded" {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("container did not boot within 60s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}

func (c *container) exec(argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.init), "-a"}, argv...)...).CombinedOutput()
}

// TestRollbackTimerOnSystemd runs the plan's own systemd commands on a
// real systemd, with a marker file instead of nft as the timer's payload:
// confirming in time stops the rollback, a rollback that fired makes the
// confirmation fail, a pending rollback refuses a second apply, and a
// failed one does not block the next.
func TestRollbackTimerOnSystemd(t *testing.T) {
	c := bootContainer(t)
	plan := ApplyPlan(Layout{After: 2 * time.Second})
	arm := func(payload ...string) ([]byte, error) {
		t.Helper()
		for _, cmd := range plan.Apply {
			if cmd.Argv[0] == "systemd-run" {
				argv := append(slices.Clone(cmd.Argv[:slices.Index(cmd.Argv, nftBin)]), payload...)
				return c.exec(argv...)
			}
		}
		t.Fatal("the plan arms no timer")
		return nil, nil
	}
	runAll := func(cmds []Command, only string) error {
		t.Helper()
		for _, cmd := range cmds {
			if cmd.Argv[0] != only {
				continue
			}
			if out, err := c.exec(cmd.Argv...); err != nil && !cmd.MayFail {
				return &cmdError{cmd.Argv, err, out}
			}
		}
		return nil
	}
	fired := func(marker string) bool {
		_, err := c.exec("test", "-e", marker)
		return err == nil
	}
	waitFired := func(marker string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !fired(marker) {
			if time.Now().After(deadline) {
				t.Fatalf("rollback never ran %s", marker)
			}
			time.Sleep(100 * time.Millisecond) // polling with a deadline
		}
	}

	// Confirmed in time: the payload never runs.
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-1"); err != nil {
		t.Fatalf("arm: %v: %s", err, out)
	}
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-x"); err == nil {
		t.Errorf("second arm while a rollback is pending succeeded (%s), want it refused", out)
	}
	if err := runAll(plan.Confirm[:1], "systemctl"); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	// Nothing is left to start the payload: the timer is gone, the service idle.
	for unit, want := range map[string]string{RollbackUnit + ".timer": "LoadState=not-found", RollbackUnit + ".service": "ActiveState=inactive"} {
		prop, _, _ := strings.Cut(want, "=")
		if out, _ := c.exec("systemctl", "show", "-p", prop, unit); strings.TrimSpace(string(out)) != want {
			t.Errorf("after confirm, %s has %s, want %s", unit, strings.TrimSpace(string(out)), want)
		}
	}
	if fired("/run/ctr-fired-1") {
		t.Error("rollback ran although the apply was confirmed")
	}

	// Not confirmed: the payload runs and the confirmation fails.
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-2"); err != nil {
		t.Fatalf("arm: %v: %s", err, out)
	}
	waitFired("/run/ctr-fired-2")
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := runAll(plan.Confirm[:1], "systemctl")
		if err != nil {
			break // the timer is gone: the caller reports "rolled back"
		}
		if time.Now().After(deadline) {
			t.Fatal("confirm still succeeds 10s after the rollback ran")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A rollback that failed holds the unit name until the plan's reset-failed.
	if out, err := arm("/usr/bin/false"); err != nil {
		t.Fatalf("arm: %v: %s", err, out)
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		out, _ := c.exec("systemctl", "is-failed", RollbackUnit+".service")
		if strings.TrimSpace(string(out)) == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failing rollback never failed: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := runAll(plan.Apply, "systemctl"); err != nil {
		t.Fatal(err)
	}
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-3"); err != nil {
		t.Errorf("arm after the plan's reset-failed: %v: %s", err, out)
	}
}
