package debpkg

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/internal/nspawntest"
	"counter/internal/testutil"
)

// node is a throw-away Debian 12 file system: the lab's base image under
// an overlay whose upper layer keeps this test's changes. Commands run in
// it with systemd-nspawn, without booting, so maintainer scripts take the
// path they take in a chroot: enable by symlinks, no systemctl calls.
type node struct {
	tb    testing.TB
	name  string
	upper string
	debs  string
}

func newNode(tb testing.TB, debs string) *node {
	tb.Helper()
	testutil.NeedRoot(tb, "the install test runs systemd-nspawn")
	testutil.NeedTool(tb, "systemd-nspawn", "systemd-container")
	if _, err := os.Stat(filepath.Join(nspawntest.BaseImage, "usr/sbin/adduser")); err != nil {
		tb.Skipf("SKIPPED INSTALL TEST: no lab base image at %s (run `counterctl lab up` once): %v", nspawntest.BaseImage, err)
	}
	return &node{tb: tb, name: fmt.Sprintf("ctr-debpkg-%d", os.Getpid()), upper: tb.TempDir(), debs: debs}
}

// run runs argv in the node and returns its stdout; the error carries stderr.
func (n *node) run(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--quiet", "--register=no", "--keep-unit", "--machine=" + n.name,
		"--directory=" + nspawntest.BaseImage, "--overlay=" + nspawntest.BaseImage + ":" + n.upper + ":/",
		"--bind-ro=" + n.debs + ":/srv/debs", "--setenv=DEBIAN_FRONTEND=noninteractive", "--"}, argv...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "systemd-nspawn", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (n *node) mustRun(argv ...string) string {
	n.tb.Helper()
	out, err := n.run(argv...)
	if err != nil {
		n.tb.Fatalf("in node: %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

func (n *node) exists(path string) bool {
	_, err := n.run("test", "-e", path)
	return err == nil
}

// TestInstallUpgradeRemovePurge installs two builds with dpkg on a Debian 12
// file system and checks what an admin would: the version dpkg reports, the
// user, enabled units, an admin's disable surviving the upgrade, and what
// remove and purge leave behind. Starting and restarting under a running
// systemd is the lab end-to-end test's part.
func TestInstallUpgradeRemovePurge(t *testing.T) {
	debs := t.TempDir()
	n := newNode(t, debs)
	p1, p2, path1, path2 := buildUpgradePair(t, debs)
	deb1, deb2 := "/srv/debs/"+filepath.Base(path1), "/srv/debs/"+filepath.Base(path2)
	status := func() string {
		out, _ := n.run("dpkg-query", "-W", "-f=${Version} ${db:Status-Abbrev}", "counter")
		return strings.TrimSpace(out)
	}
	const (
		counterdWants = "/etc/systemd/system/multi-user.target.wants/counterd.service"
		timerWants    = "/etc/systemd/system/timers.target.wants/counter-raid-check.timer"
	)

	if got := status(); strings.Contains(got, "ii") {
		t.Fatalf("counter already installed in a fresh node: %q", got)
	}
	n.mustRun("dpkg", "-i", deb1)
	if got, want := status(), p1.Version+" ii"; got != want {
		t.Fatalf("after install: dpkg-query says %q, want %q", got, want)
	}
	user := strings.TrimSpace(n.mustRun("getent", "passwd", "counterd"))
	if f := strings.Split(user, ":"); len(f) != 7 || f[5] != "/nonexistent" || f[6] != "/usr/sbin/nologin" {
		t.Errorf("user counterd = %q, want a system user with home /nonexistent and no login", user)
	}
	n.mustRun("getent", "group", "counterd")
	for _, link := range []string{counterdWants, timerWants} {
		if !n.exists(link) {
			t.Errorf("after install: %s missing, unit not enabled", link)
		}
	}
	if got := n.mustRun("dpkg", "-S", "/var/lib/counter"); !strings.HasPrefix(got, "counter: ") {
		t.Errorf("dpkg -S /var/lib/counter = %q, want the package to own it", got)
	}

	// Same build again: the scripts are idempotent, the user is not doubled.
	n.mustRun("dpkg", "-i", deb1)
	if got := n.mustRun("sh", "-c", "getent passwd | grep -c '^counterd:'"); strings.TrimSpace(got) != "1" {
		t.Errorf("after reinstall: %s counterd users", got)
	}

	// An admin disables counterd; the upgrade must respect that.
	n.mustRun("systemctl", "disable", "counterd.service")
	n.mustRun("dpkg", "-i", deb2)
	if got, want := status(), p2.Version+" ii"; got != want {
		t.Fatalf("after upgrade: dpkg-query says %q, want %q", got, want)
	}
	if n.exists(counterdWants) {
		t.Errorf("upgrade re-enabled counterd that the admin disabled")
	}
	if !n.exists(timerWants) {
		t.Errorf("upgrade lost the enabled timer")
	}

	// What provisioning and the timer write, which remove keeps.
	n.mustRun("mkdir", "-p", "/etc/counterd/tls")
	n.mustRun("touch", "/etc/counterd/counterd.yaml", "/etc/counterd/redis.pass", "/etc/counterd/tls/redis-client.key",
		"/etc/default/counterd", "/var/lib/counter/raid.json")
	n.mustRun("dpkg", "--remove", "counter")
	if got := status(); !strings.HasPrefix(got, p2.Version+" rc") {
		t.Errorf("after remove: dpkg-query says %q, want config-files state", got)
	}
	for _, gone := range []string{"/usr/bin/counterd", "/usr/bin/counterctl", "/lib/systemd/system/counterd.service"} {
		if n.exists(gone) {
			t.Errorf("after remove: %s still there", gone)
		}
	}
	for _, kept := range []string{"/etc/counterd/counterd.yaml", "/var/lib/counter/raid.json"} {
		if !n.exists(kept) {
			t.Errorf("after remove: %s gone; only purge may delete it", kept)
		}
	}

	n.mustRun("dpkg", "--purge", "counter")
	if got := status(); strings.Contains(got, p2.Version) {
		t.Errorf("after purge: dpkg-query still knows %q", got)
	}
	for _, gone := range []string{"/etc/counterd", "/etc/default/counterd", "/var/lib/counter", timerWants} {
		if n.exists(gone) {
			t.Errorf("after purge: %s still there", gone)
		}
	}
	if _, err := n.run("getent", "passwd", "counterd"); err != nil {
		t.Errorf("after purge: user counterd gone; Debian packages keep their users")
	}
}

// buildUpgradePair builds into dir a package and its upgrade: the same
// version with one byte more in counterd, so a different content hash.
func buildUpgradePair(t *testing.T, dir string) (p1, p2 Package, path1, path2 string) {
	t.Helper()
	bins := mustBinaries(t)
	spec := Spec{Version: "v0.1.0", Arch: "amd64", CounterdBinary: bins.Counterd,
		CounterctlBinary: bins.Counterctl, Maintainer: testMaintainer}
	p1, path1, err := BuildFile(spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "counterd")
	data, err := os.ReadFile(bins.Counterd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(changed, append(data, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	spec.CounterdBinary = changed
	p2, path2, err = BuildFile(spec, dir)
	if err != nil {
		t.Fatal(err)
	}
	return p1, p2, path1, path2
}
