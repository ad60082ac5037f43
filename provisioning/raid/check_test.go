package raid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"counter/internal/testutil"
	"counter/provisioning/nagios"
)

var checkTime = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

const (
	mdstat     = MdstatPath
	storcli    = "storcli64 /call show all J"
	ssacli     = "ssacli ctrl all show config detail"
	megaLDCmd  = "MegaCli64 -LDInfo -Lall -aALL -NoLog"
	megaBBUCmd = "MegaCli64 -AdpBbuCmd -GetBbuStatus -aALL -NoLog"
)

type scenario struct {
	name     string
	policy   Policy
	files    map[string]string
	cmds     map[string]string
	want     nagios.State
	problems []string // substrings the problems must contain, in order
	prom     bool     // also compare the textfile metrics with a golden .prom
}

var scenarios = []scenario{
	{name: "md-healthy", files: map[string]string{mdstat: "mdstat/raid10-healthy.txt"}, want: nagios.OK, prom: true},
	{name: "md-degraded", files: map[string]string{mdstat: "mdstat/raid10-degraded.txt"}, want: nagios.Critical,
		problems: []string{"md0 (raid10) degraded [4/3]", "md0 failed disks: sde"}, prom: true},
	{name: "md-recovery", files: map[string]string{mdstat: "mdstat/raid1-recovery.txt"}, want: nagios.Warning,
		problems: []string{"md0 (raid1) recovery 0.4%"}, prom: true},
	{name: "md-raid6-recovery", files: map[string]string{mdstat: "mdstat/raid6-recovery.txt"}, want: nagios.Warning,
		problems: []string{"md0 (raid6) recovery 19.6%"}},
	{name: "md-raid5-failed", files: map[string]string{mdstat: "mdstat/raid5-failed.txt"}, want: nagios.Critical,
		problems: []string{"md0 (raid5) degraded [3/2]", "md0 failed disks: sdc1"}},
	{name: "md-check", files: map[string]string{mdstat: "mdstat/raid1-check.txt"}, want: nagios.OK},
	{name: "md-mixed", files: map[string]string{mdstat: "mdstat/mixed.txt"}, want: nagios.Critical,
		problems: []string{"md4 (raid1) inactive", "md7 (raid6) degraded [4/3]", "md6 (raid1) recovery 8.5%", "md8 (raid1) resync 8.5%", "md9 (raid1) resync delayed", "md11 (raid1) resync pending"}},
	{name: "md-detail-faulty", files: map[string]string{mdstat: "mdstat/imsm-container.txt"},
		cmds: map[string]string{"mdadm --detail /dev/md127": "mdadm/md127-failed-flags.txt"}, want: nagios.Critical,
		problems: []string{"md127 failed disks: vda4"}},

	{name: "storcli-healthy", cmds: map[string]string{storcli: "storcli/healthy-bbu.json"}, want: nagios.OK, prom: true},
	{name: "storcli-degraded", cmds: map[string]string{storcli: "storcli/degraded.json"}, want: nagios.Critical,
		problems: []string{"c0/v0 (raid1) degraded", "c0/v0 failed disks: 252:1"}},
	{name: "storcli-rebuilding", cmds: map[string]string{storcli: "storcli/rebuilding.json"}, want: nagios.Warning,
		problems: []string{"c0/v0 (raid1) rebuild"}},
	{name: "storcli-bbu-failed", cmds: map[string]string{storcli: "storcli/bbu-failed.json"}, want: nagios.Critical,
		problems: []string{"storcli c0 battery failed: Failed"}, prom: true},
	{name: "storcli-no-energy-pack", cmds: map[string]string{storcli: "storcli/no-energy-pack.json"}, want: nagios.Critical,
		problems: []string{"storcli c0 has no BBU or CacheVault", "c0/v239 runs write-through without a working BBU"}},

	{name: "ssacli-healthy", cmds: map[string]string{ssacli: "ssacli/healthy.txt"}, want: nagios.OK},
	{name: "ssacli-degraded", cmds: map[string]string{ssacli: "ssacli/degraded.txt"}, want: nagios.Critical,
		problems: []string{"slot=2/ld1 (raid1) degraded", "slot=2/ld1 failed disks: 5I:1:2"}, prom: true},
	{name: "ssacli-rebuilding", cmds: map[string]string{ssacli: "ssacli/rebuilding.txt"}, want: nagios.Warning,
		problems: []string{"slot=2/ld1 (raid1) rebuild 26.0%"}},
	{name: "ssacli-capacitor-failed", cmds: map[string]string{ssacli: "ssacli/capacitor-failed.txt"}, want: nagios.Critical,
		problems: []string{"ssacli slot=0 capacitor failed: Failed (Replace Batteries), replacement required", "ssacli slot=0 write cache permanently disabled"}},
	{name: "ssacli-recharging", cmds: map[string]string{ssacli: "ssacli/recharging.txt"}, want: nagios.Warning,
		problems: []string{"ssacli slot=2 capacitor charging"}},

	{name: "megacli-healthy", cmds: map[string]string{megaLDCmd: "megacli/healthy-ldinfo.txt", megaBBUCmd: "megacli/healthy-bbu.txt"}, want: nagios.OK},
	{name: "megacli-degraded", cmds: map[string]string{megaLDCmd: "megacli/degraded-ldinfo.txt", megaBBUCmd: "megacli/healthy-bbu.txt"}, want: nagios.Critical,
		problems: []string{"a0/v0 (raid1) degraded"}},
	{name: "megacli-bbu-failed", cmds: map[string]string{megaLDCmd: "megacli/bbu-failed-ldinfo.txt", megaBBUCmd: "megacli/bbu-failed-bbu.txt"}, want: nagios.Critical,
		problems: []string{"megacli a0 battery failed: replacement required", "a0/v0 runs write-through although configured write-back"}},
	{name: "megacli-learning", cmds: map[string]string{megaLDCmd: "megacli/learning-ldinfo.txt", megaBBUCmd: "megacli/learning-bbu.txt"}, want: nagios.Warning,
		problems: []string{"megacli a0 battery learn cycle active"}, prom: true},

	{name: "none-optional", policy: PolicyOptional, want: nagios.OK},
	{name: "none-required", policy: PolicyRequired, want: nagios.Critical, problems: []string{"no RAID found, but policy requires it"}},
	{name: "policy-none", policy: PolicyNone, files: map[string]string{mdstat: "mdstat/raid10-degraded.txt"}, want: nagios.OK},
	{name: "storcli-truncated", cmds: map[string]string{storcli: "check/storcli-truncated.json"}, want: nagios.Unknown,
		problems: []string{"storcli: not the expected JSON: unexpected end of JSON input"}},
}

func (s scenario) source() *fixtureSource {
	return &fixtureSource{files: s.files, cmds: s.cmds}
}

func TestCheckScenarios(t *testing.T) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			policy := s.policy
			if policy == "" {
				policy = PolicyRequired
			}
			r := check(context.Background(), s.source(), policy, checkTime)
			if r.Severity != s.want {
				t.Errorf("severity = %s, want %s; problems %q", r.Severity, s.want, r.Problems)
			}
			if len(s.problems) == 0 && len(r.Problems) > 0 && s.want == nagios.OK {
				t.Errorf("problems = %q, want none", r.Problems)
			}
			i := 0
			for _, p := range r.Problems {
				if i < len(s.problems) && strings.Contains(p, s.problems[i]) {
					i++
				}
			}
			if i < len(s.problems) {
				t.Errorf("problems %q lack %q (in this order: %q)", r.Problems, s.problems[i], s.problems)
			}
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, filepath.Join("testdata", "check", s.name+".golden.json"), append(js, '\n'))

			var back Report
			if err := json.Unmarshal(js, &back); err != nil || back.Severity != r.Severity || back.Summary != r.Summary {
				t.Errorf("report does not survive a JSON round trip: %v", err)
			}

			var prom bytes.Buffer
			if err := WriteTextfile(&prom, r); err != nil {
				t.Fatal(err)
			}
			assertValidTextfile(t, prom.Bytes(), r)
			if s.prom {
				testutil.Golden(t, filepath.Join("testdata", "check", s.name+".prom"), prom.Bytes())
			}
		})
	}
}

// assertValidTextfile parses the metrics with Prometheus' own text parser.
func assertValidTextfile(t *testing.T, prom []byte, r Report) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(prom))
	if err != nil {
		t.Fatalf("node_exporter would reject the textfile: %v\n%s", err, prom)
	}
	sev := families["counter_raid_severity"]
	if sev == nil || len(sev.Metric) != 1 || sev.Metric[0].GetGauge().GetValue() != float64(r.Severity) {
		t.Errorf("counter_raid_severity = %v, want %d", sev, r.Severity)
	}
	n := 0
	for _, a := range r.Arrays {
		if a.Status != StatusContainer {
			n++
		}
	}
	if got := len(families["counter_raid_array_severity"].GetMetric()); got != n {
		t.Errorf("%d counter_raid_array_severity series, want %d", got, n)
	}
}

func TestCheckRunsOnlyTheNeededCommands(t *testing.T) {
	tests := []struct {
		name string
		cmds map[string]string
		want []string
	}{
		// storcli supersedes MegaCli on the same controllers.
		{name: "storcli wins over megacli", cmds: map[string]string{storcli: "storcli/healthy-bbu.json", megaLDCmd: "megacli/healthy-ldinfo.txt"},
			want: []string{storcli}},
		{name: "megacli without storcli", cmds: map[string]string{megaLDCmd: "megacli/healthy-ldinfo.txt", megaBBUCmd: "megacli/healthy-bbu.txt"},
			want: []string{megaLDCmd, megaBBUCmd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fixtureSource{cmds: tt.cmds}
			check(context.Background(), src, PolicyRequired, checkTime)
			if !slices.Equal(src.ran, tt.want) {
				t.Errorf("ran %q, want %q", src.ran, tt.want)
			}
		})
	}
}

func TestCheckInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := &fixtureSource{files: map[string]string{mdstat: "mdstat/raid10-healthy.txt"}, cmds: map[string]string{storcli: "storcli/healthy-bbu.json"}}
	r := check(ctx, src, PolicyRequired, checkTime)
	if r.Severity != nagios.Unknown || len(src.ran) != 0 || !strings.Contains(r.Summary, "check interrupted: context canceled") {
		t.Errorf("check(cancelled) = %s %q after running %q, want UNKNOWN and nothing run", r.Severity, r.Summary, src.ran)
	}
}

// failingSource answers every command with out and a non-zero exit.
type failingSource struct {
	tool string
	out  string
}

func (f failingSource) ReadFile(name string) ([]byte, error) { return nil, fs.ErrNotExist }
func (f failingSource) LookPath(name string) (string, error) {
	if name == f.tool {
		return "/usr/sbin/" + name, nil
	}
	return "", exec.ErrNotFound
}
func (f failingSource) Run(context.Context, time.Duration, string, ...string) ([]byte, error) {
	return []byte(f.out), errors.New("exit status 1")
}

func TestCheckToolsWithoutControllers(t *testing.T) {
	tests := []struct {
		name string
		src  failingSource
		want nagios.State
	}{
		// Tools installed by a common image on a node without that hardware.
		{"ssacli", failingSource{"ssacli", "\nError: No controllers detected. Possible causes:\n"}, nagios.OK},
		{"storcli", failingSource{"storcli64", `{"Controllers":[{"Command Status":{"Status":"Failure","Description":"No Controller found"}}]}` + "\n"}, nagios.OK},
		{"storcli broken", failingSource{"storcli64", "Segmentation fault\n"}, nagios.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := check(context.Background(), tt.src, PolicyOptional, checkTime)
			if r.Severity != tt.want {
				t.Errorf("severity = %s (%q), want %s", r.Severity, r.Summary, tt.want)
			}
		})
	}
}
