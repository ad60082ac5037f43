package lab_test

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"counter/internal/netnsdir"
)

// testRefusals checks that up refuses, clearly and without creating anything,
// an overlapping subnet, a non-root user and a concurrent run.
func testRefusals(t *testing.T, c *labCLI) {
	noLab := func(t *testing.T) {
		t.Helper()
		if _, err := os.Stat("/run/netns/ctr-wan"); err == nil {
			t.Fatal("a refused lab up created the router namespace")
		}
		if _, err := os.Stat(filepath.Join(c.stateDir, "lab.json")); err == nil {
			t.Fatal("a refused lab up wrote a state file")
		}
	}
	t.Run("subnet overlapping a host route", func(t *testing.T) {
		out, err := exec.Command("ip", "-4", "-o", "addr", "show", "scope", "global").Output()
		f := strings.Fields(string(out))
		if err != nil || len(f) < 4 {
			t.Skipf("no global IPv4 address on the host to overlap (%v)", err)
		}
		p, err := netip.ParsePrefix(f[3])
		if err != nil {
			t.Fatal(err)
		}
		// A /16 around the host's own address: big enough for the plan, so
		// only the overlap can refuse it.
		subnet, _ := p.Addr().Prefix(16)
		_, err = c.run(time.Minute, "up", "--subnet", subnet.String())
		if err == nil || !strings.Contains(err.Error(), "overlaps") {
			t.Errorf("lab up --subnet %s = %v, want an overlap refusal", subnet, err)
		}
		noLab(t)
	})
	t.Run("not root", func(t *testing.T) {
		// The test's temp dirs are private to root: nobody needs a binary it can reach.
		dir, err := os.MkdirTemp("", "ctr-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		bin, err := os.ReadFile(c.bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "counterctl"), bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(dir, "counterctl"), "lab", "--state-dir", c.stateDir, "up")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "needs root") {
			t.Errorf("lab up as nobody = %v %q, want a needs-root error", err, out)
		}
		noLab(t)
	})
	t.Run("failure half-way cleans up", func(t *testing.T) {
		// A namespace the lab did not make, with a name it needs: up must
		// fail there, remove what it made before, and leave this one alone.
		const squatter = "ctr-client-eu"
		before := netnsdir.Note()
		if out, err := exec.Command("ip", "netns", "add", squatter).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v %s", squatter, err, out)
		}
		defer func() {
			exec.Command("ip", "netns", "delete", squatter).Run()
			// The squatter is this test's: so is the /run/netns it made.
			made := before.Made()
			if err := made.Remove(); err != nil {
				t.Errorf("remove what ip netns add %s made: %v", squatter, err)
			}
		}()
		_, err := c.run(3*time.Minute, "up")
		if err == nil || !strings.Contains(err.Error(), squatter) {
			t.Errorf("lab up with %s taken = %v, want an error naming it", squatter, err)
		}
		noLab(t)
		if _, err := os.Stat("/run/netns/" + squatter); err != nil {
			t.Errorf("clean-up removed %s, which the lab did not make", squatter)
		}
		if _, err := os.Stat("/sys/class/net/ctr0"); err == nil {
			t.Error("clean-up left the host link ctr0")
		}
		if out, _ := exec.Command("nft", "list", "tables").Output(); strings.Contains(string(out), "ctr_lab") {
			t.Error("clean-up left the nftables table ctr_lab")
		}
	})
	t.Run("concurrent run", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(c.stateDir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		_, err = c.run(time.Minute, "up")
		if err == nil || !strings.Contains(err.Error(), "in use by another counterctl lab run") {
			t.Errorf("lab up while the lock is held = %v, want a clear refusal", err)
		}
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		noLab(t)
	})
}
