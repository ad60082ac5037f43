package testutil

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Run runs argv (20 s at most) and returns its combined output, or fails tb
// with the command and its output.
func Run(tb testing.TB, argv ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// NewNetns makes the network namespace name, with lo up, and removes it when
// the test ends, also on failure. name must carry the project's prefix
// (ctr-) so a namespace left by a killed test is recognised as ours.
func NewNetns(tb testing.TB, name string) string {
	tb.Helper()
	if !strings.HasPrefix(name, "ctr-") {
		tb.Fatalf("namespace %q: test namespaces are named ctr-*", name)
	}
	Run(tb, "ip", "netns", "add", name)
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("remove namespace %s: %v: %s", name, err, out)
		}
	})
	Run(tb, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}
