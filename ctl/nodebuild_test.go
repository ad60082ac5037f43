package ctl

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"counter/internal/testutil"
)

// TestNodeBuildImports is the fence around what ships to nodes (etcd's
// import restrictions, as a test): the counterctl the package installs
// (-tags node) must not carry the lab, the .deb builder, SSH provisioning
// or the daemon.
func TestNodeBuildImports(t *testing.T) {
	testutil.NeedTool(t, "go", "golang")
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-tags", "node", "counter/cmd/counterctl").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	// The node's own check is there, so the list is the real one.
	if !slices.Contains(deps, "counter/provisioning/raid") {
		t.Fatalf("the node build does not import counter/provisioning/raid; deps:\n%s", out)
	}
	forbidden := []string{
		"counter/ctl/lab", // the lab, its TUN router and nspawn
		"counter/provisioning/debpkg", "github.com/goreleaser/nfpm",
		"counter/provisioning/steps", "counter/provisioning/host", "counter/provisioning/sshx",
		"counter/provisioning/probe", "counter/provisioning/health",
		"golang.org/x/crypto/ssh",
		"counter/daemon",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("the node's counterctl imports %s (fenced off: %s)", d, f)
			}
		}
	}

	// go list does not compile: the node's files must also build on their
	// own (a node file calling into an admin file would not).
	bin := filepath.Join(t.TempDir(), "counterctl")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-tags", "node", "-o", bin, "counter/cmd/counterctl").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags node: %v\n%s", err, out)
	}
	for _, sub := range []string{"raid-check", "anycast", "dns-watch"} {
		out, err := exec.CommandContext(t.Context(), bin, "node", sub, "--help").CombinedOutput()
		if err != nil {
			t.Errorf("the node's counterctl node %s --help: %v\n%s", sub, err, out)
		}
		// An unknown subcommand with --help prints node's help and exits 0.
		if !strings.Contains(string(out), "counterctl node "+sub+" [flags]") {
			t.Errorf("the node's counterctl has no node %s:\n%s", sub, out)
		}
	}
}
