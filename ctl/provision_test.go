//go:build !node

package ctl

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/phase"
)

func TestWriteOutcome(t *testing.T) {
	ok := func(title string, d time.Duration) phase.StepReport {
		return phase.StepReport{Title: title, Status: phase.OK, Took: d}
	}
	changed := phase.StepReport{Title: "counterd", Status: phase.Changed, Took: 1200 * time.Millisecond,
		Changes: []host.Change{{What: "update /etc/counterd/counterd.yaml", Diff: "--- a\n+++ b\n-listen: \":8081\"\n+listen: \":80\"\n"}}}
	stepErr := &phase.StepError{Host: "oceania", Step: "replication", Err: errors.New("gave up after 1m30s: master_link_status:down"),
		Rerun: "counterctl provision -i lab.yaml --limit oceania"}
	tests := []struct {
		name     string
		rep      phase.Report
		diff     bool
		wantCode int
	}{
		{"all ok", phase.Report{Hosts: []phase.HostReport{
			{Host: "master", Took: 1300 * time.Millisecond, Steps: []phase.StepReport{ok("redis", time.Second), ok("sshd", 300*time.Millisecond)}},
			{Host: "na", Took: 2300 * time.Millisecond, Steps: []phase.StepReport{ok("redis", 2*time.Second), ok("sshd", 300*time.Millisecond)}},
		}}, false, 0},
		{"real run with diff", phase.Report{Hosts: []phase.HostReport{
			{Host: "na", Took: 2200 * time.Millisecond, Steps: []phase.StepReport{ok("redis", time.Second), changed}},
		}}, true, 0},
		{"dry run with a diff", phase.Report{DryRun: true, Hosts: []phase.HostReport{
			{Host: "na", Took: 2200 * time.Millisecond, Steps: []phase.StepReport{ok("redis", time.Second), changed}},
		}}, false, 0},
		{"one node failed", phase.Report{Hosts: []phase.HostReport{
			{Host: "master", Took: 2200 * time.Millisecond, Steps: []phase.StepReport{ok("redis", time.Second), changed}},
			{Host: "oceania", Took: 91 * time.Second, Err: stepErr, Steps: []phase.StepReport{ok("redis", time.Second),
				{Title: "replication", Status: phase.Failed, Err: stepErr.Err, Took: 90 * time.Second},
				{Title: "firewall", Status: phase.Skipped}}},
			{Host: "sa", Steps: []phase.StepReport{{Title: "connect", Status: phase.Failed}}, Err: &phase.StepError{Host: "sa", Step: "connect", Err: errors.New("ssh 10.213.4.2:22: host key changed"),
				Rerun: "counterctl provision -i lab.yaml --limit sa"}},
		}}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := writeOutcome(&out, &tt.rep, 95*time.Second, tt.diff)
			code := 0
			var ee *ExitError
			if errors.As(err, &ee) {
				code = ee.Code
				out.WriteString("error: " + ee.Error() + "\n")
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			testutil.Golden(t, filepath.Join("testdata", "outcome-"+filepath.Base(slug(tt.name))+".golden"), out.Bytes())
		})
	}
}

func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(newProgressHandler(&out))
	log.With("host", "master").Info("step", "step", "redis", "status", phase.Changed, "took", 1230*time.Millisecond, "err", nil)
	log.With("host", "oceania").Info("step", "step", "replication", "status", phase.Failed, "took", 90*time.Second,
		"err", errors.New("gave up after 1m30s: master_link_status:down"))
	log.Info("not a step") // other records are not progress
	testutil.Golden(t, filepath.Join("testdata", "progress.golden"), out.Bytes())
}

func slug(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == ' ' {
			b[i] = '-'
		}
	}
	return string(b)
}
