package phase

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"counter/provisioning/host"
)

// Report is the outcome of a Runner.Run, host by host in run order.
type Report struct {
	DryRun bool
	Hosts  []HostReport
}

// HostReport is what happened on one host.
type HostReport struct {
	Host  string
	Steps []StepReport
	Err   error // a *StepError, or nil
	Took  time.Duration
}

// StepReport is one step on one host.
type StepReport struct {
	Title   string
	Status  Status
	Changes []host.Change
	Err     error
	Took    time.Duration
}

// StepError says which step failed on which host and how to retry just that host.
type StepError struct {
	Host, Step string
	Err        error
	Rerun      string // command to retry this host, if known
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s: step %q: %v", e.Host, e.Step, e.Err)
	if e.Rerun != "" {
		msg += "; after fixing it, rerun: " + e.Rerun
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// Err joins the hosts' errors (each a *StepError), or nil if all succeeded.
func (r *Report) Err() error {
	var errs []error
	for _, h := range r.Hosts {
		if h.Err != nil {
			errs = append(errs, h.Err)
		}
	}
	return errors.Join(errs...)
}

// Changed reports whether any step changed (or, dry, would change) something.
func (r *Report) Changed() bool {
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			if s.Status == Changed {
				return true
			}
		}
	}
	return false
}

// WriteSummary prints one line per host with its counts, then the failures.
func (r *Report) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	changed := "CHANGED"
	if r.DryRun {
		changed = "WOULD CHANGE"
	}
	fmt.Fprintf(tw, "HOST\tOK\t%s\tSKIPPED\tFAILED\tTIME\n", changed)
	for _, h := range r.Hosts {
		var n [4]int
		for _, s := range h.Steps {
			n[s.Status]++
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", h.Host, n[OK], n[Changed], n[Skipped], n[Failed], h.Took.Round(100*time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, h := range r.Hosts {
		if h.Err != nil {
			if _, err := fmt.Fprintf(w, "FAILED %v\n", h.Err); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteChanges lists every change per host and step, with file diffs, as
// `--dry-run` shows them.
func (r *Report) WriteChanges(w io.Writer) error {
	var b strings.Builder
	for _, h := range r.Hosts {
		for _, s := range h.Steps {
			for _, c := range s.Changes {
				fmt.Fprintf(&b, "%s: %s: %s\n", h.Host, s.Title, c.What)
				if c.Diff != "" {
					for line := range strings.SplitSeq(strings.TrimSuffix(c.Diff, "\n"), "\n") {
						b.WriteString("    " + line + "\n")
					}
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
