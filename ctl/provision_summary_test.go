//go:build !node

package ctl_test

import "testing"

// TestSummaryShows: the second-run check reads provision's summary as it
// printed it in the CI run of 2026-12-03 10:18 (a lab without
// dns.secondary: one step skipped per node).
func TestSummaryShows(t *testing.T) {
	const out = `        HOST     OK  CHANGED  SKIPPED  FAILED  TIME
master   11  0        1        0       29.2s
mirror   11  0        1        0       28.7s
na       10  1        1        0       29.5s
oceania  11  0        0        0       30.1s
`
	for _, tc := range []struct {
		node    string
		skipped int
		want    bool
	}{
		{"master", 1, true},
		{"master", 0, false},
		{"na", 1, false}, // one step changed
		{"oceania", 0, true},
		{"oceania", 1, false},
		{"asia", 1, false}, // no line at all
		{"mirro", 1, false},
	} {
		if got := summaryShows(out, tc.node, tc.skipped); got != tc.want {
			t.Errorf("summaryShows(%s, %d skipped) = %v, want %v", tc.node, tc.skipped, got, tc.want)
		}
	}
}
