package raid_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/ctl"
	"counter/internal/testutil"
	"counter/provisioning/raid"
)

// systemd itself must accept both units without a single warning, the man
// pages they name included: verify looks those up in the pages the package
// ships (ctl.ManPages imports this package, hence the external test).
func TestUnitsVerify(t *testing.T) {
	analyze := testutil.NeedTool(t, "systemd-analyze", "systemd")
	testutil.NeedTool(t, "man", "man-db") // verify checks Documentation= with it
	dir := t.TempDir()
	pages, err := ctl.ManPages(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	man1 := filepath.Join(dir, "man", "man1")
	if err := os.MkdirAll(man1, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, page := range pages {
		if strings.HasSuffix(name, ".1") {
			if err := os.WriteFile(filepath.Join(man1, name), page, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// verify insists that ExecStart exists; counterctl is not installed here.
	service := strings.Replace(raid.ServiceUnit, "ExecStart=/usr/bin/counterctl", "ExecStart=/bin/true", 1)
	files := map[string]string{raid.ServiceUnitName: service, raid.TimerUnitName: raid.TimerUnit}
	var paths []string
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.CommandContext(t.Context(), analyze, append([]string{"verify"}, paths...)...)
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(dir, "man"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
