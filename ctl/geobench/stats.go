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
// page never showed are counted in missed, not timed; presses whose value
// a page showed before they were sent are counted in backwards, not timed:
// the counter went back (a failover to a replica that had not seen the
// last increments) and the press was given a value already shown.
func Propagation(from ProbeResult, others []ProbeResult) (ms []float64, missed, backwards int) {
	for _, p := range from.Presses {
		worst, seen, early := 0.0, true, false
		for _, o := range others {
			at, ok := firstAtLeast(o.Events, p.Value)
			if !ok {
				seen = false
				break
			}
			early = early || at < p.SentNS
			worst = max(worst, float64(at-p.SentNS)/1e6)
		}
		switch {
		case !seen:
			missed++
		case early:
			backwards++
		default:
			ms = append(ms, worst)
		}
	}
	return ms, missed, backwards
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
