package debpkg

import (
	"bytes"
	"context"
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

// bootedNode is the lab's Debian 12 image booted with systemd in its own
// network namespace (loopback only), for what needs a running systemd:
// starts, try-restarts and stops from the maintainer scripts.
type bootedNode struct {
	tb     testing.TB
	leader int // the container's PID 1, seen from the host
}

func bootNode(tb testing.TB, debs string) *bootedNode {
	tb.Helper()
	n := newNode(tb, debs) // the same skips: root, systemd-nspawn, lab image
	testutil.NeedTool(tb, "nsenter", "util-linux")
	cmd := exec.Command("systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot",
		"--private-network", "--machine="+n.name, "--directory="+labBase,
		"--overlay="+labBase+":"+n.upper+":/", "--bind-ro="+debs+":/srv/debs")
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	if err := cmd.Start(); err != nil {
		tb.Fatalf("boot node: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tb.Cleanup(func() {
		// nspawn passes SIGTERM on as a clean poweroff of the container.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	b := &bootedNode{tb: tb}
	deadline := time.Now().Add(time.Minute)
	for b.leader == 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("no container init under systemd-nspawn pid %d:\n%s", cmd.Process.Pid, console.String())
		}
		select {
		case err := <-done:
			tb.Fatalf("systemd-nspawn exited: %v\n%s", err, console.String())
		case <-time.After(50 * time.Millisecond):
		}
		b.leader = childNamed(cmd.Process.Pid, "systemd")
	}
	for {
		out, _ := b.run("systemctl", "is-system-running", "--wait")
		state := strings.TrimSpace(out)
		if state == "running" || state == "degraded" {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("node did not boot: state %q\n%s", state, console.String())
		}
		time.Sleep(100 * time.Millisecond) // systemd's socket is not up yet; bounded by deadline
	}
	return b
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

func (b *bootedNode) run(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--target", strconv.Itoa(b.leader), "--mount", "--uts", "--ipc", "--net", "--pid", "--"}, argv...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LANG=C.UTF-8"}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (b *bootedNode) mustRun(argv ...string) string {
	b.tb.Helper()
	out, err := b.run(argv...)
	if err != nil {
		b.tb.Fatalf("in booted node: %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

// unit returns ActiveState and MainPID of a unit.
func (b *bootedNode) unit(name string) (state, pid string) {
	b.tb.Helper()
	out := b.mustRun("systemctl", "show", "--property=ActiveState,MainPID", name)
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "ActiveState":
			state = v
		case "MainPID":
			pid = v
		}
	}
	return state, pid
}

// waitActive polls until unit is active with a main process.
func (b *bootedNode) waitActive(name string) string {
	b.tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		state, pid := b.unit(name)
		if state == "active" && pid != "0" {
			return pid
		}
		if time.Now().After(deadline) {
			b.tb.Fatalf("%s is %s (pid %s), want active", name, state, pid)
		}
		time.Sleep(100 * time.Millisecond) // polling systemd, bounded by deadline
	}
}

// TestSystemdLifecycle installs on a booted Debian 12: a first install
// without the config enables counterd but does not start it (provisioning
// starts it after writing the config), an upgrade restarts a running
// counterd, a stopped one stays stopped, and remove stops everything.
func TestSystemdLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: boots a Debian container")
	}
	debs := t.TempDir()
	_, _, path1, path2 := buildUpgradePair(t, debs)
	b := bootNode(t, debs)
	deb1, deb2 := "/srv/debs/"+filepath.Base(path1), "/srv/debs/"+filepath.Base(path2)
	const unit, timer = "counterd.service", "counter-raid-check.timer"

	b.mustRun("dpkg", "-i", deb1)
	if state, _ := b.unit(unit); state != "inactive" {
		t.Errorf("first install without config: counterd %s, want inactive", state)
	}
	if got := strings.TrimSpace(b.mustRun("systemctl", "is-enabled", unit)); got != "enabled" {
		t.Errorf("first install: counterd is-enabled %q, want enabled", got)
	}
	b.waitActive(timer)

	// What the provisioning step does next.
	b.mustRun("mkdir", "-p", "/etc/counterd")
	b.mustRun("sh", "-c", "echo 'listen: 127.0.0.1:8080' > /etc/counterd/counterd.yaml")
	b.mustRun("systemctl", "start", unit)
	before := b.waitActive(unit)
	if user := strings.TrimSpace(b.mustRun("ps", "-o", "user=", "-p", before)); user != "counterd" {
		t.Errorf("counterd runs as %q, want counterd", user)
	}

	b.mustRun("dpkg", "-i", deb2)
	if after := b.waitActive(unit); after == before {
		t.Errorf("upgrade to a new counterd kept pid %s: not restarted", before)
	}

	b.mustRun("systemctl", "stop", unit)
	b.mustRun("dpkg", "-i", deb1)
	if state, _ := b.unit(unit); state != "inactive" {
		t.Errorf("upgrade of a stopped counterd: %s, want it left stopped", state)
	}

	b.mustRun("systemctl", "start", unit)
	b.waitActive(unit)
	b.mustRun("dpkg", "--remove", "counter")
	for _, u := range []string{unit, timer} {
		if state, _ := b.unit(u); state == "active" {
			t.Errorf("after remove: %s still active", u)
		}
	}
}
