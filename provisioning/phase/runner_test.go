package phase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/host"
)

// fakeHost records what steps did to it; its dry view shares the record.
type fakeHost struct {
	name string
	dry  bool
	log  *journal
}

var _ host.Host = (*fakeHost)(nil)

type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

func (h *fakeHost) Name() string   { return h.name }
func (h *fakeHost) DryRun() bool   { return h.dry }
func (h *fakeHost) Dry() host.Host { return &fakeHost{name: h.name, dry: true, log: h.log} }
func (h *fakeHost) Query(context.Context, ...string) ([]byte, error) {
	return nil, nil
}
func (h *fakeHost) Exec(_ context.Context, what string, _ ...string) (*host.Change, error) {
	if !h.dry {
		h.log.add(h.name + ": " + what)
	}
	return &host.Change{What: what}, nil
}
func (h *fakeHost) EnsurePackages(ctx context.Context, names ...string) (*host.Change, error) {
	return h.Exec(ctx, "install "+strings.Join(names, " "))
}
func (h *fakeHost) EnsureFile(ctx context.Context, f host.File) (*host.Change, error) {
	return h.Exec(ctx, "write "+f.Path)
}
func (h *fakeHost) RestartIfChanged(ctx context.Context, unit string, cs ...*host.Change) (*host.Change, error) {
	return h.Exec(ctx, "restart "+unit)
}

// step is a configurable test step.
type step struct {
	title  string
	run    func(ctx context.Context, h host.Host) (Result, error)
	should func(h host.Host) bool
}

func (s *step) Title() string { return s.title }
func (s *step) Run(ctx context.Context, h host.Host) (Result, error) {
	return s.run(ctx, h)
}

type shouldStep struct{ *step }

func (s shouldStep) ShouldRun(_ context.Context, h host.Host) (bool, error) { return s.should(h), nil }

type dryStep struct{ *step }

func (s dryStep) DryRun(_ context.Context, h host.Host) (Result, error) {
	return Result{Status: Changed, Changes: []host.Change{{What: "custom dry description"}}}, nil
}

func ensureFile(path string) *step {
	return &step{title: "write " + path, run: func(ctx context.Context, h host.Host) (Result, error) {
		c, err := h.EnsureFile(ctx, host.File{Path: path})
		return Collect(c), err
	}}
}

func hosts(j *journal, names ...string) []host.Host {
	var out []host.Host
	for _, n := range names {
		out = append(out, &fakeHost{name: n, log: j})
	}
	return out
}

func rerun(node string) string { return "counterctl provision -i inv.yaml --limit " + node }

func TestRunOrderAndFailureIsolation(t *testing.T) {
	j := &journal{}
	boom := errors.New("apt-get: exit status 100")
	r := &Runner{
		Steps: []Step{
			ensureFile("/etc/a"),
			&step{title: "flaky", run: func(ctx context.Context, h host.Host) (Result, error) {
				if h.Name() == "na" {
					return Result{}, boom
				}
				return Result{}, nil
			}},
			ensureFile("/etc/b"),
			shouldStep{&step{title: "master only", should: func(h host.Host) bool { return h.Name() == "master" },
				run: func(ctx context.Context, h host.Host) (Result, error) {
					c, err := h.Exec(ctx, "promote")
					return Collect(c), err
				}}},
		},
		Parallel: 4,
		Rerun:    rerun,
	}
	rep := r.Run(context.Background(), hosts(j, "master"), hosts(j, "mirror"), hosts(j, "na", "sa", "asia"))

	// The master and the mirror finish before any replica starts.
	got := j.list()
	idx := func(s string) int { return slices.Index(got, s) }
	if !(idx("master: promote") < idx("mirror: write /etc/a") && idx("mirror: write /etc/b") < idx("na: write /etc/a") &&
		idx("mirror: write /etc/b") < idx("sa: write /etc/a")) {
		t.Errorf("journal out of wave order: %q", got)
	}
	if slices.Contains(got, "na: write /etc/b") {
		t.Errorf("na ran a step after its failure: %q", got)
	}
	for _, want := range []string{"sa: write /etc/b", "asia: write /etc/b"} {
		if !slices.Contains(got, want) {
			t.Errorf("the failure on na stopped %q: %q", want, got)
		}
	}

	var se *StepError
	if err := rep.Err(); !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Fatalf("Report.Err() = %v, want a *StepError wrapping the step's error", err)
	}
	want := `na: step "flaky": apt-get: exit status 100; after fixing it, rerun: counterctl provision -i inv.yaml --limit na`
	if se.Error() != want {
		t.Errorf("error = %q\nwant    %q", se.Error(), want)
	}
	statuses := map[string][]Status{}
	for _, h := range rep.Hosts {
		for _, s := range h.Steps {
			statuses[h.Host] = append(statuses[h.Host], s.Status)
		}
	}
	wantStatuses := map[string][]Status{
		"master": {Changed, OK, Changed, Changed},
		"mirror": {Changed, OK, Changed, Skipped},
		"na":     {Changed, Failed, Skipped, Skipped},
		"sa":     {Changed, OK, Changed, Skipped},
	}
	for h, w := range wantStatuses {
		if !slices.Equal(statuses[h], w) {
			t.Errorf("%s statuses = %v, want %v", h, statuses[h], w)
		}
	}
}

func TestRunParallelIsBounded(t *testing.T) {
	const par, n = 3, 8
	var mu sync.Mutex
	active, peak := 0, 0
	release := make(chan struct{})
	r := &Runner{Parallel: par, Steps: []Step{&step{title: "hold", run: func(ctx context.Context, h host.Host) (Result, error) {
		mu.Lock()
		active++
		peak = max(peak, active)
		mu.Unlock()
		<-release
		mu.Lock()
		active--
		mu.Unlock()
		return Result{}, nil
	}}}}
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("r%d", i))
	}
	done := make(chan *Report)
	go func() { done <- r.Run(context.Background(), hosts(&journal{}, names...)) }()
	testutil.Poll(t, 5*time.Second, fmt.Sprintf("%d hosts running", par), func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if active != par {
			return fmt.Errorf("only %d", active)
		}
		return nil
	})
	close(release)
	rep := <-done
	if peak != par {
		t.Errorf("peak concurrency %d, want %d", peak, par)
	}
	if len(rep.Hosts) != n || rep.Err() != nil {
		t.Errorf("report: %d hosts, err %v", len(rep.Hosts), rep.Err())
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	j := &journal{}
	r := &Runner{DryRun: true, Steps: []Step{
		ensureFile("/etc/a"),
		dryStep{&step{title: "custom", run: func(ctx context.Context, h host.Host) (Result, error) {
			return Result{}, errors.New("Run called in a dry run")
		}}},
	}}
	rep := r.Run(context.Background(), hosts(j, "master"))
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if got := j.list(); len(got) != 0 {
		t.Errorf("dry run changed the host: %q", got)
	}
	var buf bytes.Buffer
	if err := rep.WriteChanges(&buf); err != nil {
		t.Fatal(err)
	}
	if want := "master: write /etc/a: write /etc/a\nmaster: custom: custom dry description\n"; buf.String() != want {
		t.Errorf("WriteChanges =\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestCancelStopsBetweenSteps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := &journal{}
	r := &Runner{Rerun: rerun, Steps: []Step{
		&step{title: "first", run: func(context.Context, host.Host) (Result, error) { cancel(); return Result{}, nil }},
		ensureFile("/etc/never"),
	}}
	rep := r.Run(ctx, hosts(j, "master"), hosts(j, "mirror"))
	if got := j.list(); len(got) != 0 {
		t.Errorf("steps ran after cancel: %q", got)
	}
	err := rep.Err()
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `master: step "before \"write /etc/never\""`) {
		t.Errorf("Report.Err() = %v, want cancellation naming the next step", err)
	}
}

func TestWriteSummary(t *testing.T) {
	rep := &Report{Hosts: []HostReport{
		{Host: "master", Took: 2140 * time.Millisecond, Steps: []StepReport{{Status: OK}, {Status: Changed}, {Status: Changed}}},
		{Host: "oceania", Took: 380 * time.Millisecond, Steps: []StepReport{{Status: OK}, {Status: Failed}, {Status: Skipped}},
			Err: &StepError{Host: "oceania", Step: "install packages", Err: errors.New("sudo needs a password"), Rerun: rerun("oceania")}},
	}}
	var buf bytes.Buffer
	if err := rep.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "summary.golden"), buf.Bytes())
}

// A host's time is from its first step to its last, on the runner's clock.
func TestHostTook(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { // each reading is a second after the last
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	j := &journal{}
	r := &Runner{Now: clock, Steps: []Step{ensureFile("/etc/a"), ensureFile("/etc/b")}}
	rep := r.Run(context.Background(), hosts(j, "master"))
	// Readings: start, then two per step (before, after), then the end.
	if got, want := rep.Hosts[0].Took, 5*time.Second; got != want {
		t.Errorf("host Took = %s, want %s", got, want)
	}
}
