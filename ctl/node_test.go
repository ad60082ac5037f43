package ctl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With no md array list (--mdstat names a missing file) and no controller
// CLI, the policy alone decides, on any host.
func TestNodeRaidCheckExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		policy   string
		wantCode int
		wantOut  string
	}{
		{"optional", "optional", 0, "RAID OK - no RAID found"},
		{"required", "required", 2, "RAID CRITICAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := Main(t.Context(), []string{"node", "raid-check", "--policy", tt.policy,
				"--textfile-dir", dir, "--state", filepath.Join(dir, "raid.json"), "--mdstat", filepath.Join(dir, "no-mdstat")}, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) {
				t.Fatalf("raid-check --policy %s = %d %q (stderr %q), want %d %q",
					tt.policy, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut)
			}
			for _, f := range []string{"raid.json", "counter_raid.prom"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s not written: %v", f, err)
				}
			}
		})
	}
}
