package phase

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"counter/provisioning/host"
)

// localStep is a step marked HostLocal.
type localStep struct{ step }

func (localStep) HostLocal() {}

// TestHostLocalStepsRunFirstEverywhere: the leading HostLocal steps run on
// every host before any wave's other steps, so a replica installs its
// packages while the master does, not after it; the rest keeps the waves'
// order, and a host that failed a local step runs nothing more.
func TestHostLocalStepsRunFirstEverywhere(t *testing.T) {
	j := &journal{}
	record := func(title string) func(context.Context, host.Host) (Result, error) {
		return func(_ context.Context, h host.Host) (Result, error) {
			j.add(h.Name() + " " + title)
			if h.Name() == "r2" && title == "packages" {
				return Result{}, errors.New("no mirror")
			}
			return Result{Status: OK}, nil
		}
	}
	r := &Runner{Parallel: 5, Steps: []Step{
		&localStep{step{title: "packages", run: record("packages")}},
		&step{title: "redis", run: record("redis")},
	}}
	h := func(name string) host.Host { return &fakeHost{name: name, log: &journal{}} }
	rep := r.Run(context.Background(), []host.Host{h("master")}, []host.Host{h("r1"), h("r2")})

	got := j.list()
	firstRedis := slices.IndexFunc(got, func(e string) bool { return strings.HasSuffix(e, " redis") })
	for _, n := range []string{"master", "r1", "r2"} {
		if i := slices.Index(got, n+" packages"); i < 0 || i > firstRedis {
			t.Errorf("%s packages at %d, want before the first redis step (%d): %q", n, i, firstRedis, got)
		}
	}
	if i, k := slices.Index(got, "master redis"), slices.Index(got, "r1 redis"); i < 0 || k < i {
		t.Errorf("master redis at %d, r1 redis at %d: the waves' order is lost: %q", i, k, got)
	}
	if slices.Contains(got, "r2 redis") {
		t.Errorf("r2 failed its packages but ran redis: %q", got)
	}
	if len(rep.Hosts) != 3 || rep.Hosts[2].Host != "r2" || rep.Hosts[2].Err == nil || rep.Hosts[2].Steps[1].Status != Skipped {
		t.Errorf("report hosts = %+v, want master, r1, r2 with r2 failed and its redis skipped", rep.Hosts)
	}
}
