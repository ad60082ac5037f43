package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"counter/internal/testutil"
)

// TestPageGolden pins the served page byte for byte; after a deliberate change run
// go test ./daemon/ -run TestPageGolden -update and review the diff.
func TestPageGolden(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, mode, file string
		age              time.Duration
	}{
		{"cookie mode", AuthCookie, "page-cookie.golden.html", 0},
		{"per-request mode", AuthPerRequest, "page-per-request.golden.html", 0},
		{"stale value", AuthCookie, "page-stale.golden.html", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newPages(tt.mode, 2*time.Second).html(1234567, now.Add(-tt.age), now).body
			testutil.Golden(t, filepath.Join("testdata", tt.file), got)
		})
	}
}
