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
	Rerun  func(node string) string
	Logger *slog.Logger
	Now    func() time.Time
}

// dryViewer is a host that can give a dry view of itself (*host.Remote is one).
type dryViewer interface {
	Dry() host.Host
}

// Run provisions the waves in order (callers pass the master, then the
// mirror, then the replicas); hosts inside a wave run in parallel. A failed
// host stops only its own remaining steps.
func (r *Runner) Run(ctx context.Context, waves ...[]host.Host) *Report {
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	par := max(r.Parallel, 1)
	rep := &Report{DryRun: r.DryRun}
	for _, wave := range waves {
		reports := make([]HostReport, len(wave))
		sem := make(chan struct{}, par)
		var wg sync.WaitGroup
		for i, h := range wave {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				reports[i] = r.runHost(ctx, h)
			}()
		}
		wg.Wait()
		rep.Hosts = append(rep.Hosts, reports...)
	}
	return rep
}

func (r *Runner) runHost(ctx context.Context, h host.Host) (hr HostReport) {
	start := r.Now()
	hr = HostReport{Host: h.Name()}
	// Named result: the deferred assignment must reach the caller's copy.
	defer func() { hr.Took = r.Now().Sub(start) }()
	log := r.Logger.With("host", h.Name())
	target := h
	if r.DryRun {
		dv, ok := h.(dryViewer)
		if !ok {
			hr.Err = &StepError{Host: h.Name(), Step: "dry run", Err: errors.New("host has no dry view"), Rerun: r.rerun(h.Name())}
			return hr
		}
		target = dv.Dry()
	}
	for _, s := range r.Steps {
		sr := StepReport{Title: s.Title()}
		if hr.Err != nil || ctx.Err() != nil {
			sr.Status = Skipped
			hr.Steps = append(hr.Steps, sr)
			continue
		}
		t0 := r.Now()
		res, err := r.runStep(ctx, s, target)
		sr.Took = r.Now().Sub(t0)
		sr.Status, sr.Changes = res.Status, res.Changes
		if err != nil {
			sr.Status, sr.Err = Failed, err
			hr.Err = &StepError{Host: h.Name(), Step: s.Title(), Err: err, Rerun: r.rerun(h.Name())}
		}
		log.Info("step", "step", sr.Title, "status", sr.Status, "took", sr.Took, "err", err)
		hr.Steps = append(hr.Steps, sr)
	}
	if hr.Err == nil && ctx.Err() != nil {
		hr.Err = &StepError{Host: h.Name(), Step: "before " + firstSkipped(hr.Steps), Err: context.Cause(ctx), Rerun: r.rerun(h.Name())}
	}
	return hr
}

func (r *Runner) runStep(ctx context.Context, s Step, h host.Host) (Result, error) {
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
