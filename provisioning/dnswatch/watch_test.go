package dnswatch

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"counter/provisioning/anycast"
	"counter/provisioning/dnsupdate"
)

type fixedMaster struct{ addr string }

func (f *fixedMaster) Master(context.Context) (string, error) { return f.addr, nil }

var _ MasterSource = (*fixedMaster)(nil)

// recorder is a Publish that keeps what it was asked to publish.
type recorder struct {
	mu  sync.Mutex
	got []dnsupdate.Desired
}

func (r *recorder) publish(_ context.Context, _ dnsupdate.Store, d dnsupdate.Desired, _ *slog.Logger) (dnsupdate.Plan, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, d)
	return dnsupdate.Plan{Changes: []dnsupdate.Change{{}}}, nil
}

func datas(rrs []dnsupdate.RR) []string {
	var out []string
	for _, r := range rrs {
		out = append(out, r.Data)
	}
	slices.Sort(out)
	return out
}

// TestStepRiseFall: one failed check of c changes nothing, the second
// (fall 2) takes it out of na's name (replaced by the nearest, in eu); one
// good check does not bring it back, the third (rise 3) does.
func TestStepRiseFall(t *testing.T) {
	ready := map[string]bool{"a": true, "b": true, "c": true}
	cfg := testConfig("a")
	byURL := map[string]string{}
	for _, n := range cfg.Nodes {
		byURL[n.Readyz] = n.Name
	}
	rec := &recorder{}
	w, err := New(cfg, Options{
		Counts: anycast.Counts{Rise: 3, Fall: 2}, Master: &fixedMaster{"10.0.0.1:6380"}, Store: dnsupdate.Store(nil),
		Check:   func(_ context.Context, url string) bool { return ready[byURL[url]] },
		Publish: rec.publish,
	})
	if err == nil {
		t.Fatal("New took a nil Store")
	}
	w, err = New(cfg, Options{
		Counts: anycast.Counts{Rise: 3, Fall: 2}, Master: &fixedMaster{"10.0.0.1:6380"}, Store: nopStore{},
		Check:   func(_ context.Context, url string) bool { return ready[byURL[url]] },
		Publish: rec.publish,
	})
	if err != nil {
		t.Fatal(err)
	}
	na := "na.counter.example.test."
	steps := []struct {
		cReady    bool
		published int      // publishes so far
		na        []string // na's addresses in the last one
	}{
		{true, 0, nil}, // rise 3: nobody known yet
		{true, 0, nil},
		{true, 1, []string{"192.0.2.3"}},
		{true, 1, []string{"192.0.2.3"}},  // no change, no publish
		{false, 1, []string{"192.0.2.3"}}, // one failure: kept
		{false, 2, []string{"192.0.2.1"}}, // fall 2: the nearest healthy node
		{true, 2, []string{"192.0.2.1"}},
		{true, 2, []string{"192.0.2.1"}},
		{true, 3, []string{"192.0.2.3"}}, // rise 3: back
	}
	for i, s := range steps {
		ready["c"] = s.cReady
		if err := w.Step(t.Context()); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(rec.got) != s.published {
			t.Fatalf("step %d (c ready %v): %d publishes, want %d", i, s.cReady, len(rec.got), s.published)
		}
		if s.published > 0 {
			if got := datas(rec.got[len(rec.got)-1].Sets[na]); !slices.Equal(got, s.na) {
				t.Errorf("step %d: %s = %v, want %v", i, na, got, s.na)
			}
		}
	}
}

// TestStepNeverEmpty: with no node healthy (and no anycast) the watcher
// publishes nothing rather than an empty service name.
func TestStepNeverEmpty(t *testing.T) {
	rec := &recorder{}
	w, err := New(testConfig("a"), Options{
		Counts: anycast.Counts{Rise: 1, Fall: 1}, Master: &fixedMaster{"10.0.0.1:6380"}, Store: nopStore{},
		Check: func(context.Context, string) bool { return false }, Publish: rec.publish,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Step(t.Context()); err == nil {
		t.Error("Step with no healthy node: no error")
	}
	if len(rec.got) != 0 {
		t.Errorf("published %d times with no healthy node", len(rec.got))
	}
}

type nopStore struct{}

func (nopStore) Read(context.Context, string) (dnsupdate.Zone, error) { return dnsupdate.Zone{}, nil }
func (nopStore) Apply(context.Context, dnsupdate.Zone, dnsupdate.Plan) error {
	return nil
}

var _ dnsupdate.Store = nopStore{}

// testLogger writes a watcher's log to the test's.
func testLogger(t *testing.T, who string) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil)).With("watcher", who)
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
