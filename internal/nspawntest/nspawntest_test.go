package nspawntest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestBootRunsDebian12: the image boots with systemd as PID 1 and commands
// run inside it, not on the host.
func TestBootRunsDebian12(t *testing.T) {
	c := Boot(t, fmt.Sprintf("ctr-nspawntest-%d", os.Getpid()))
	if v := c.MustRun("cat", "/etc/debian_version"); !strings.HasPrefix(v, "12.") {
		t.Errorf("/etc/debian_version in the container = %q, want 12.x", v)
	}
	if comm := strings.TrimSpace(c.MustRun("cat", "/proc/1/comm")); comm != "systemd" {
		t.Errorf("PID 1 in the container is %q, want systemd", comm)
	}
	if _, err := c.Run("false"); err == nil {
		t.Error("Run(false) = nil error, want its exit status")
	}
}
