package phase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"counter/provisioning/host"
)

// Runner applies Steps to hosts.
type Runner struct {
	Steps []Step
	// Parallel bounds how many hosts of one wave run at once; default 1.
	Parallel int
	// DryRun runs every step against the host's dry view (or its DryRun):
	// nothing changes, changes are described.
	DryRun bool
	// Rerun says how to retry one node after a failure, e.g.
	// `counterctl provision -i inventory.yaml --limit na`.
	Rerun func(node string) string
	// Only, when set, says which steps apply to which host; the others
	// report skipped there (node add: the new node fully, the firewall
	// elsewhere).
	Only   func(s Step, h host.Host) bool
	Logger *slog.Logger
	Now    func() time.Time
}

// dryViewer is a host that can give a dry view of itself (*host.Remote is one).
type dryViewer interface {
	Dry() host.Host
}

// Run provisions the waves in order (callers pass the master, then the
// mirror, then the replicas); hosts inside a wave run in parallel. The
// leading HostLocal steps run first on every host of every wave at once.
// A failed host stops only its own remaining steps.
func (r *Runner) Run(ctx context.Context, waves ...[]host.Host) *Report {
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	local := 0
	for local < len(r.Steps) {
		if _, ok := r.Steps[local].(HostLocal); !ok {
			break
		}
		local++
	}
	runs := make([][]*hostRun, len(waves))
	var all []*hostRun
	for i, wave := range waves {
		for _, h := range wave {
			hr := r.start(h)
			runs[i] = append(runs[i], hr)
			all = append(all, hr)
		}
	}
	if local > 0 {
		r.each(all, func(hr *hostRun) { r.runSteps(ctx, hr, r.Steps[:local]) })
	}
	rep := &Report{DryRun: r.DryRun}
	for _, wave := range runs {
		r.each(wave, func(hr *hostRun) { r.runSteps(ctx, hr, r.Steps[local:]) })
		for _, hr := range wave {
			rep.Hosts = append(rep.Hosts, r.finish(ctx, hr))
		}
	}
	return rep
}

// each runs f on the hosts in parallel, at most r.Parallel at a time.
func (r *Runner) each(hosts []*hostRun, f func(*hostRun)) {
	sem := make(chan struct{}, max(r.Parallel, 1))
	var wg sync.WaitGroup
	for _, hr := range hosts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(hr)
		})
	}
	wg.Wait()
}

// hostRun is one host's progress through the steps.
type hostRun struct {
	host   host.Host
	target host.Host // the host, or its dry view
	log    *slog.Logger
	report HostReport
	noView bool // a dry run on a host without a dry view: no steps at all
}

func (r *Runner) start(h host.Host) *hostRun {
	hr := &hostRun{host: h, target: h, log: r.Logger.With("host", h.Name()), report: HostReport{Host: h.Name()}}
	if r.DryRun {
		dv, ok := h.(dryViewer)
		if !ok {
			hr.report.Err = &StepError{Host: h.Name(), Step: "dry run", Err: errors.New("host has no dry view"), Rerun: r.rerun(h.Name())}
			hr.noView = true
			return hr
		}
		hr.target = dv.Dry()
	}
	return hr
}

// runSteps runs steps on one host; after a failure or cancellation the
// rest are reported skipped. Took adds up the time spent here.
func (r *Runner) runSteps(ctx context.Context, hr *hostRun, steps []Step) {
	if hr.noView {
		return
	}
	start := r.Now()
	defer func() { hr.report.Took += r.Now().Sub(start) }()
	name := hr.host.Name()
	for _, s := range steps {
		sr := StepReport{Title: s.Title()}
		if hr.report.Err != nil || ctx.Err() != nil {
			sr.Status = Skipped
			hr.report.Steps = append(hr.report.Steps, sr)
			continue
		}
		t0 := r.Now()
		res, err := r.runStep(ctx, s, hr.target)
		sr.Took = r.Now().Sub(t0)
		sr.Status, sr.Changes = res.Status, res.Changes
		if err != nil {
			sr.Status, sr.Err = Failed, err
			hr.report.Err = &StepError{Host: name, Step: s.Title(), Err: err, Rerun: r.rerun(name)}
		}
		hr.log.Info("step", "step", sr.Title, "status", sr.Status, "took", sr.Took, "err", err)
		hr.report.Steps = append(hr.report.Steps, sr)
	}
}

func (r *Runner) finish(ctx context.Context, hr *hostRun) HostReport {
	rep := hr.report
	if rep.Err == nil && ctx.Err() != nil {
		rep.Err = &StepError{Host: rep.Host, Step: "before " + firstSkipped(rep.Steps), Err: context.Cause(ctx), Rerun: r.rerun(rep.Host)}
	}
	return rep
}

func (r *Runner) runStep(ctx context.Context, s Step, h host.Host) (Result, error) {
	if r.Only != nil && !r.Only(s, h) {
		return Result{Status: Skipped}, nil
	}
	if sr, ok := s.(ShouldRunner); ok {
		yes, err := sr.ShouldRun(ctx, h)
		if err != nil {
			return Result{}, fmt.Errorf("decide whether to run: %w", err)
		}
		if !yes {
			return Result{Status: Skipped}, nil
		}
	}
	if dr, ok := s.(DryRunner); ok && r.DryRun {
		return dr.DryRun(ctx, h)
	}
	return s.Run(ctx, h)
}

func (r *Runner) rerun(node string) string {
	if r.Rerun == nil {
		return ""
	}
	return r.Rerun(node)
}

func firstSkipped(steps []StepReport) string {
	for _, s := range steps {
		if s.Status == Skipped {
			return fmt.Sprintf("%q", s.Title)
		}
	}
	return "the end"
}
