package raid

import (
	"fmt"
	"slices"
	"strings"

	"counter/provisioning/nagios"
)

// grade sets every array's and controller's severity, the report's severity,
// its problems (most severe first) and its summary.
func grade(r *Report) {
	bbus := map[string]*BBU{}
	withArrays := map[string]bool{}
	for _, c := range r.Controllers {
		bbus[c.Source+" "+c.ID] = c.BBU
	}
	for i := range r.Arrays {
		a := &r.Arrays[i]
		if a.Controller != "" {
			withArrays[a.Source+" "+a.Controller] = true
		}
		a.Severity = gradeArray(r, a, bbus[a.Source+" "+a.Controller])
	}
	for i := range r.Controllers {
		c := &r.Controllers[i]
		c.Severity = gradeController(r, c, withArrays[c.Source+" "+c.ID])
	}
	found := 0
	for _, a := range r.Arrays {
		if a.Status != StatusContainer {
			found++
		}
	}
	if found == 0 && len(r.Controllers) == 0 && len(r.problems) == 0 {
		switch r.Policy {
		case PolicyRequired:
			r.add(nagios.Critical, "no RAID found, but policy requires it")
		default:
			r.Summary = "no RAID found"
		}
	}
	slices.SortStableFunc(r.problems, func(a, b problem) int { return nagios.Compare(b.sev, a.sev) })
	r.Problems = make([]string, 0, len(r.problems))
	for _, p := range r.problems {
		r.Severity = r.Severity.Worse(p.sev)
		r.Problems = append(r.Problems, p.text)
	}
	switch {
	case len(r.Problems) > 0:
		r.Summary = strings.Join(r.Problems, "; ")
	case r.Summary == "":
		r.Summary = okSummary(r)
	}
}

func (r *Report) add(sev nagios.State, format string, args ...any) nagios.State {
	r.problems = append(r.problems, problem{sev, fmt.Sprintf(format, args...)})
	return sev
}

func gradeArray(r *Report, a *Array, bbu *BBU) nagios.State {
	sev := nagios.OK
	what := a.Name
	if a.Level != "" {
		what += " (" + a.Level + ")"
	}
	switch a.Status {
	case StatusOptimal, StatusChecking, StatusContainer:
	case StatusResyncing, StatusRebuilding:
		sev = r.add(nagios.Warning, "%s %s%s", what, a.Operation, progress(a))
	case StatusDegraded:
		sev = r.add(nagios.Critical, "%s degraded%s", what, counts(a))
	case StatusFailed:
		sev = r.add(nagios.Critical, "%s failed", what)
	case StatusInactive:
		sev = r.add(nagios.Critical, "%s inactive", what)
	default:
		return r.add(nagios.Unknown, "%s in unknown state %q", what, a.State)
	}
	if len(a.FailedDisks) > 0 {
		sev = sev.Worse(r.add(nagios.Critical, "%s failed disks: %s", a.Name, strings.Join(a.FailedDisks, ", ")))
	}
	if a.WriteCache == "write-through" {
		switch {
		case a.DefaultWriteCache == "write-back":
			sev = sev.Worse(r.add(nagios.Warning, "%s runs write-through although configured write-back", a.Name))
		case a.Controller != "" && (bbu == nil || bbu.Status != BBUOptimal):
			sev = sev.Worse(r.add(nagios.Warning, "%s runs write-through without a working BBU", a.Name))
		}
	}
	return sev
}

func gradeController(r *Report, c *Controller, hasArrays bool) nagios.State {
	sev := nagios.OK
	name := c.Source + " " + c.ID
	for _, f := range c.findings {
		sev = sev.Worse(r.add(f.sev, "%s", f.text))
	}
	switch c.State {
	case "", "OK", "Optimal", "Success", "Failure":
	default:
		sev = sev.Worse(r.add(nagios.Critical, "%s controller state %s", name, c.State))
	}
	if c.Cache != "" && c.Cache != "OK" {
		sev = sev.Worse(r.add(nagios.Warning, "%s write cache %s", name, strings.ToLower(c.Cache)))
	}
	if c.BBU == nil {
		if hasArrays {
			sev = sev.Worse(r.add(nagios.Critical, "%s has no BBU or CacheVault", name))
		}
		return sev
	}
	switch c.BBU.Status {
	case BBUOptimal:
	case BBULearning:
		sev = sev.Worse(r.add(nagios.Warning, "%s %s learn cycle active (cache may be write-through meanwhile)", name, c.BBU.Kind))
	case BBUCharging:
		sev = sev.Worse(r.add(nagios.Warning, "%s %s charging", name, c.BBU.Kind))
	case BBUFailed:
		sev = sev.Worse(r.add(nagios.Critical, "%s %s failed%s", name, c.BBU.Kind, bbuDetail(c.BBU)))
	default:
		sev = sev.Worse(r.add(nagios.Unknown, "%s %s in unknown state %q", name, c.BBU.Kind, c.BBU.State))
	}
	return sev
}

func okSummary(r *Report) string {
	var parts []string
	for _, a := range r.Arrays {
		if a.Status == StatusContainer {
			continue
		}
		s := a.Name + " " + a.Level + " " + string(a.Status)
		if a.Status == StatusChecking {
			s += progress(&a)
		}
		parts = append(parts, s)
	}
	for _, c := range r.Controllers {
		if c.BBU != nil {
			parts = append(parts, fmt.Sprintf("%s %s %s %s", c.Source, c.ID, c.BBU.Kind, c.BBU.Status))
		}
	}
	return strings.Join(parts, "; ")
}

func progress(a *Array) string {
	if a.Progress == nil {
		return ""
	}
	return fmt.Sprintf(" %.1f%%", *a.Progress)
}

func counts(a *Array) string {
	if a.Devices == 0 {
		return ""
	}
	return fmt.Sprintf(" [%d/%d]", a.Devices, a.ActiveDevices)
}

func bbuDetail(u *BBU) string {
	var d []string
	if u.State != "" {
		d = append(d, u.State)
	}
	if u.ReplacementRequired {
		d = append(d, "replacement required")
	}
	if len(d) == 0 {
		return ""
	}
	return ": " + strings.Join(d, ", ")
}
