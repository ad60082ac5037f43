// Package chaos judges a chaos scenario from the load's records: how long
// presses failed, which acknowledged presses the final value lost, which
// users counted twice, which readers saw the value go back, and what errors
// clients met. docs/chaos.md defines each figure.
package chaos

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"counter/ctl/lab/load"
)

// Window is what the harness knows of a scenario's run.
type Window struct {
	Fault  time.Time // when the fault was made
	Repair time.Time // when the harness undid it (start, heal); zero if nothing was undone
	// Before and Final are the converged values before the first press and
	// after the last answer, read from every node once all agreed.
	Before, Final int64
}

// Result is a scenario's figures.
type Result struct {
	Scenario string
	Users    int // distinct users who pressed
	// Recovered: presses succeeded again after the last failed one;
	// Recovery is from the repair (or the fault if nothing was repaired)
	// to the first success sent after the last failure. 0: none failed.
	Recovered bool
	Recovery  time.Duration
	// SinceFault is the same instant from the fault, when a repair was made.
	SinceFault time.Duration
	Repaired   bool
	Acked      int // users told 200
	Unknown    int // users with an attempt of unknown outcome and no 200
	Lost       int // acknowledged presses missing from the final value
	Double     int // presses counted twice for one user
	Backwards  int // reads lower than an earlier read of the same reader
	// Errors counts press attempts and reads that did not succeed, by
	// "press 503", "read net"...
	Errors map[string]int
	// FailedOn counts failed press attempts and reads by node.
	FailedOn map[string]int
}

// Analyze computes a scenario's figures from its records.
func Analyze(name string, recs []load.Record, w Window) Result {
	r := Result{Scenario: name, Errors: map[string]int{}, FailedOn: map[string]int{}}
	type pressed struct {
		acked   []int64
		unknown bool
	}
	users := map[string]*pressed{}
	var presses []load.Record
	for _, rec := range recs {
		if rec.Kind != "press" {
			continue
		}
		presses = append(presses, rec)
		u := users[rec.User]
		if u == nil {
			u = &pressed{}
			users[rec.User] = u
		}
		switch {
		case rec.Status == http.StatusOK && rec.HasValue:
			if !slices.Contains(u.acked, rec.Value) {
				u.acked = append(u.acked, rec.Value)
			}
		case unknownOutcome(rec):
			u.unknown = true
		}
		if !pressOK(rec) {
			r.Errors["press "+errKey(rec)]++
			r.FailedOn[rec.Node]++
		}
	}
	r.Users = len(users)

	// Each acknowledged press was given the counter's value right after it
	// ran. On one master lineage these values are distinct and at most the
	// final value; a value given twice, or above the final value, is an
	// acknowledged increment the lineage lost.
	given := map[int64]int{}
	for _, u := range users {
		if len(u.acked) > 0 {
			r.Acked++
			// Two different values for one user: counted twice.
			r.Double += len(u.acked) - 1
		} else if u.unknown {
			r.Unknown++
		}
		for _, v := range u.acked {
			given[v]++
		}
	}
	reissued := 0
	for v, n := range given {
		if v > w.Final {
			reissued += n
		} else {
			reissued += n - 1
		}
	}
	growth := int(w.Final - w.Before)
	// Every increment in growth is one of these users' presses: growth is
	// at least the acked presses kept, at most those plus the unknown ones.
	r.Lost = max(reissued, r.Acked-growth)
	r.Double = max(r.Double, growth-(r.Acked+r.Unknown))

	last := map[string]int64{}
	reads := slices.DeleteFunc(slices.Clone(recs), func(rec load.Record) bool { return rec.Kind != "read" })
	slices.SortStableFunc(reads, func(a, b load.Record) int { return a.Sent.Compare(b.Sent) })
	for _, rec := range reads {
		if rec.Status != http.StatusOK || !rec.HasValue {
			r.Errors["read "+errKey(rec)]++
			r.FailedOn[rec.Node]++
			continue
		}
		key := rec.Client + "/" + rec.Node
		if m, ok := last[key]; ok && rec.Value < m {
			r.Backwards++
		} else {
			last[key] = rec.Value
		}
	}

	r.Recovered, r.Recovery = recovery(presses, w)
	if r.Repaired = !w.Repair.IsZero(); r.Repaired && r.Recovered && r.Recovery > 0 {
		r.SinceFault = r.Recovery + w.Repair.Sub(w.Fault)
	}
	return r
}

// recovery is the time from the repair (or fault) to the answer of the
// first successful press sent after the last failed press attempt.
func recovery(presses []load.Record, w Window) (bool, time.Duration) {
	from := w.Fault
	if !w.Repair.IsZero() {
		from = w.Repair
	}
	var lastFail time.Time
	for _, p := range presses {
		if !pressOK(p) && !p.Sent.Before(w.Fault) && p.Sent.After(lastFail) {
			lastFail = p.Sent
		}
	}
	if lastFail.IsZero() {
		return true, 0
	}
	var first time.Time
	for _, p := range presses {
		if p.Status == http.StatusOK && p.Sent.After(lastFail) && (first.IsZero() || p.Answered.Before(first)) {
			first = p.Answered
		}
	}
	if first.IsZero() {
		return false, 0
	}
	return true, max(0, first.Sub(from))
}

// pressOK: the attempt got a definitive answer that the press is done:
// counted (200) or already counted today (429).
func pressOK(p load.Record) bool {
	return p.Status == http.StatusOK || p.Status == http.StatusTooManyRequests
}

// unknownOutcome: the press may have counted without the client being told.
func unknownOutcome(p load.Record) bool {
	return p.Status == 0 || (p.Status == http.StatusServiceUnavailable && p.Retry > 0) || p.Status >= 500 && p.Status != http.StatusServiceUnavailable
}

func errKey(p load.Record) string {
	switch {
	case p.Status == 0:
		return "net"
	case p.Status == http.StatusServiceUnavailable && p.Retry > 0:
		return "503+retry"
	}
	return fmt.Sprint(p.Status)
}

// TableHeader is the markdown header of Row.
const TableHeader = "| scenario | time to recover | acknowledged | lost | double | backwards | errors |\n|---|---|---|---|---|---|---|"

// Row is the result as a row of docs/chaos.md's table.
func (r Result) Row() string {
	rec := "never"
	if r.Recovered {
		rec = r.Recovery.Round(100 * time.Millisecond).String()
		if r.Repaired && r.Recovery > 0 {
			rec += fmt.Sprintf(" after the repair (%s after the fault)", r.SinceFault.Round(100*time.Millisecond))
		}
	}
	var errs []string
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		errs = append(errs, fmt.Sprintf("%s ×%d", k, r.Errors[k]))
	}
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	return fmt.Sprintf("| %s | %s | %d of %d users | %d | %d | %d | %s |",
		r.Scenario, rec, r.Acked, r.Users, r.Lost, r.Double, r.Backwards, strings.Join(errs, ", "))
}
