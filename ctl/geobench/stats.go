package geobench

import (
	"math"
	"slices"
)

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of xs; NaN
// for none. With fewer than 100 samples p99 is the largest.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Propagation pairs each press of from with the events seen on every other
// continent: for each press, the time from its sending until the last of
// the others' open pages showed its value (or a later one). Presses some
// page never showed are counted in missed, not timed.
func Propagation(from ProbeResult, others []ProbeResult) (ms []float64, missed int) {
	for _, p := range from.Presses {
		worst, ok := 0.0, true
		for _, o := range others {
			at, seen := firstAtLeast(o.Events, p.Value)
			if !seen {
				ok = false
				break
			}
			worst = max(worst, float64(at-p.SentNS)/1e6)
		}
		if !ok {
			missed++
			continue
		}
		ms = append(ms, worst)
	}
	return ms, missed
}

// firstAtLeast is when events (in arrival order) first showed v or more.
// The counter only grows, so a page showing more has counted v too.
func firstAtLeast(events []Event, v int64) (int64, bool) {
	for _, e := range events {
		if e.Value >= v {
			return e.AtNS, true
		}
	}
	return 0, false
}
