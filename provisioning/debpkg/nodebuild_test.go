package debpkg

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestPackagedCounterctlIsNodeBuild: the counterctl built for the package
// runs the node's checks and has no lab (the admin's build has one).
func TestPackagedCounterctlIsNodeBuild(t *testing.T) {
	if runtime.GOARCH != "amd64" || runtime.GOOS != "linux" {
		t.Skip("SKIPPED: runs the amd64 build, which needs linux/amd64")
	}
	bins := mustBinaries(t)
	if out, err := exec.Command(bins.Counterctl, "node", "raid-check", "--help").CombinedOutput(); err != nil {
		t.Errorf("counterctl node raid-check --help: %v\n%s", err, out)
	}
	out, err := exec.Command(bins.Counterctl, "lab", "--help").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown command "lab"`) {
		t.Errorf("counterctl lab --help = %v\n%s\nwant unknown command: the node's build has no lab", err, out)
	}
}
