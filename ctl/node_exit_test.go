package ctl

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeRaidCheckUnwritableIsUnknown: a check that cannot write its files
// exits UNKNOWN (3), not a code outside the plugin range 0-3. Policy none
// makes the node's own RAID irrelevant, so the case holds on any host.
func TestNodeRaidCheckUnwritableIsUnknown(t *testing.T) {
	var stdout, stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "missing")
	code := Main(t.Context(), []string{"node", "raid-check", "--policy", "none", "--textfile-dir", missing,
		"--state", filepath.Join(missing, "raid.json")}, &stdout, &stderr)
	if code != 3 || !strings.Contains(stderr.String(), missing) {
		t.Fatalf("raid-check into a missing dir = %d, stderr %q; want 3 (UNKNOWN) naming %s", code, stderr.String(), missing)
	}
}
