package debpkg

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/internal/nspawntest"
	"counter/internal/testutil"
)

// bootedNode is the lab's Debian 12 image booted with systemd (nspawntest),
// for what needs a running systemd: starts, try-restarts and stops from
// the maintainer scripts.
type bootedNode struct {
	*nspawntest.Container
	tb testing.TB
}

func bootNode(tb testing.TB, debs string) *bootedNode {
	tb.Helper()
	n := newNode(tb, debs) // the same skips: root, systemd-nspawn, lab image
	return &bootedNode{Container: nspawntest.Boot(tb, n.name, "--bind-ro="+debs+":/srv/debs"), tb: tb}
}

// unit returns ActiveState and MainPID of a unit.
func (b *bootedNode) unit(name string) (state, pid string) {
	b.tb.Helper()
	out := b.MustRun("systemctl", "show", "--property=ActiveState,MainPID", name)
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
	var pid string
	testutil.Poll(b.tb, 30*time.Second, name+" active", func(context.Context) error {
		var state string
		if state, pid = b.unit(name); state != "active" || pid == "0" {
			return fmt.Errorf("%s (pid %s)", state, pid)
		}
		return nil
	})
	return pid
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

	b.MustRun("dpkg", "-i", deb1)
	if state, _ := b.unit(unit); state != "inactive" {
		t.Errorf("first install without config: counterd %s, want inactive", state)
	}
	if got := strings.TrimSpace(b.MustRun("systemctl", "is-enabled", unit)); got != "enabled" {
		t.Errorf("first install: counterd is-enabled %q, want enabled", got)
	}
	b.waitActive(timer)

	// What the provisioning step does next.
	b.MustRun("mkdir", "-p", "/etc/counterd")
	b.MustRun("sh", "-c", "echo 'listen: 127.0.0.1:8080' > /etc/counterd/counterd.yaml")
	b.MustRun("systemctl", "start", unit)
	before := b.waitActive(unit)
	if user := strings.TrimSpace(b.MustRun("ps", "-o", "user=", "-p", before)); user != "counterd" {
		t.Errorf("counterd runs as %q, want counterd", user)
	}

	b.MustRun("dpkg", "-i", deb2)
	if after := b.waitActive(unit); after == before {
		t.Errorf("upgrade to a new counterd kept pid %s: not restarted", before)
	}

	b.MustRun("systemctl", "stop", unit)
	b.MustRun("dpkg", "-i", deb1)
	if state, _ := b.unit(unit); state != "inactive" {
		t.Errorf("upgrade of a stopped counterd: %s, want it left stopped", state)
	}

	b.MustRun("systemctl", "start", unit)
	b.waitActive(unit)
	b.MustRun("dpkg", "--remove", "counter")
	for _, u := range []string{unit, timer} {
		if state, _ := b.unit(u); state == "active" {
			t.Errorf("after remove: %s still active", u)
		}
	}
}
