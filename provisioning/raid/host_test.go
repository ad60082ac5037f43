package raid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"counter/internal/testutil"
	"counter/provisioning/nagios"
)

// noMdstat is a path with no md array list behind it, for HostSource.Mdstat:
// the case proven here is the lab node's, without md RAID, on any host.
func noMdstat(t *testing.T) string { return filepath.Join(t.TempDir(), "no-mdstat") }

// skipUnlessNoRAID skips on a host that has a controller tool: the case
// proven here is the lab node's, which has none.
func skipUnlessNoRAID(t *testing.T) {
	t.Helper()
	for _, names := range [][]string{storcliNames, ssacliNames, megacliNames} {
		for _, n := range names {
			if p, err := (HostSource{}).LookPath(n); err == nil {
				t.Skipf("this host has %s; the no-RAID case needs a host without controller tools", p)
			}
		}
	}
}

func TestCheckThisHost(t *testing.T) {
	skipUnlessNoRAID(t)
	tests := []struct {
		name    string
		policy  Policy
		want    nagios.State
		summary string
	}{
		{name: "optional", policy: PolicyOptional, want: nagios.OK, summary: "no RAID found"},
		{name: "required", policy: PolicyRequired, want: nagios.Critical, summary: "no RAID found, but policy requires it"},
		{name: "none", policy: PolicyNone, want: nagios.OK, summary: "RAID check disabled by policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(context.Background(), HostSource{Mdstat: noMdstat(t)}, tt.policy)
			if r.Severity != tt.want || r.Summary != tt.summary {
				t.Errorf("Check(host, %s) = %s %q, want %s %q", tt.policy, r.Severity, r.Summary, tt.want, tt.summary)
			}
			if time.Since(r.CheckedAt) > time.Minute || r.CheckedAt.Location() != time.UTC {
				t.Errorf("CheckedAt = %v, want now in UTC", r.CheckedAt)
			}
		})
	}
}

// TestRunThisHost is what the systemd unit does, with the default host source.
func TestRunThisHost(t *testing.T) {
	skipUnlessNoRAID(t)
	dir := t.TempDir()
	opts := Options{Policy: PolicyRequired, TextfileDir: dir, StatePath: filepath.Join(dir, "state", "raid.json"), Mdstat: noMdstat(t)}
	if err := os.Mkdir(filepath.Dir(opts.StatePath), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r, err := Run(context.Background(), opts, &out)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := out.String(), "RAID CRITICAL - no RAID found, but policy requires it\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	var state Report
	if err := json.Unmarshal(testutil.ReadFile(t, opts.StatePath), &state); err != nil {
		t.Fatalf("state file: %v", err)
	}
	if state.Severity != nagios.Critical || state.Summary != r.Summary || !state.CheckedAt.Equal(r.CheckedAt) {
		t.Errorf("state file says %s %q at %v, Run returned %s %q at %v", state.Severity, state.Summary, state.CheckedAt, r.Severity, r.Summary, r.CheckedAt)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(testutil.ReadFile(t, filepath.Join(dir, TextfileName))))
	if err != nil {
		t.Fatalf("textfile: %v", err)
	}
	if v := families["counter_raid_severity"].GetMetric()[0].GetGauge().GetValue(); v != 2 {
		t.Errorf("counter_raid_severity = %v, want 2", v)
	}
	if fi, err := os.Stat(opts.StatePath); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("state file mode = %v (%v), want 0644 so `counterctl health` can read it", fi.Mode(), err)
	}
}

func TestRunReportsUnwritableOutputs(t *testing.T) {
	dir := t.TempDir()
	src := &fixtureSource{files: map[string]string{MdstatPath: "mdstat/raid10-healthy.txt"}}
	opts := Options{Policy: PolicyRequired, Source: src, TextfileDir: filepath.Join(dir, "missing"),
		StatePath: filepath.Join(dir, "raid.json"), Now: func() time.Time { return checkTime }}
	var out bytes.Buffer
	r, err := Run(context.Background(), opts, &out)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "missing", TextfileName)) {
		t.Errorf("Run into a missing textfile dir: err = %v, want one naming the file", err)
	}
	// What could be written still is: the state file and the status line.
	if _, serr := os.Stat(opts.StatePath); serr != nil {
		t.Errorf("state file not written: %v", serr)
	}
	if r.Severity != nagios.OK || out.String() != "RAID OK - md0 raid10 optimal\n" {
		t.Errorf("Run = %s, printed %q", r.Severity, out.String())
	}
	if _, err := Run(context.Background(), Options{Policy: "sometimes"}, &out); err == nil {
		t.Error("Run with policy \"sometimes\" succeeded, want an error")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, TextfileName)
	if err := WriteFileAtomic(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := string(testutil.ReadFile(t, path)); got != "new\n" {
		t.Errorf("content = %q, want %q", got, "new\n")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only %s (no temporary files left)", len(entries), TextfileName)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such", "dir", "x"), []byte("x"), 0o644); err == nil {
		t.Error("WriteFileAtomic into a missing directory succeeded")
	}
}

// A reader polling the file while it is rewritten sees only whole versions,
// which is what node_exporter needs from a textfile.
func TestWriteFileAtomicReadersSeeWholeFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), TextfileName)
	versions := [][]byte{bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 512<<10)}
	if err := WriteFileAtomic(path, versions[0], 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := range 200 {
			if err := WriteFileAtomic(path, versions[i%2], 0o644); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for reads := 0; ; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if reads == 0 {
				t.Fatal("the reader never ran")
			}
			return
		default:
		}
		b := testutil.ReadFile(t, path)
		if !bytes.Equal(b, versions[0]) && !bytes.Equal(b, versions[1]) {
			t.Fatalf("read %d bytes that are neither version", len(b))
		}
	}
}

func TestHostSource(t *testing.T) {
	ctx := context.Background()
	src := HostSource{}
	echo, err := src.LookPath("echo")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := src.Run(ctx, 5*time.Second, echo, "hello", "$HOME;"); err != nil || string(out) != "hello $HOME;\n" {
		t.Errorf("Run(echo) = %q, %v; want the arguments unexpanded, as no shell is involved", out, err)
	}
	sleep, err := src.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Run(ctx, 100*time.Millisecond, sleep, "30"); err == nil || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("Run(sleep 30) with a 100ms timeout = %v, want a timeout error", err)
	}
	ls, err := src.LookPath("ls")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Run(ctx, 5*time.Second, ls, "/ctr-no-such-file"); err == nil || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("Run(ls missing) = %v, want its stderr in the error", err)
	}
	if _, err := src.LookPath("ctr-no-such-tool"); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("LookPath(missing) = %v, want exec.ErrNotFound", err)
	}
	if _, err := src.ReadFile("/ctr-no-such-file"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want fs.ErrNotExist", err)
	}
}

// HostSource.Mdstat stands in for /proc/mdstat, and for nothing else.
func TestHostSourceMdstat(t *testing.T) {
	fixture := filepath.Join("testdata", "mdstat", "raid10-healthy.txt")
	src := HostSource{Mdstat: fixture}
	got, err := src.ReadFile(MdstatPath)
	if err != nil || !bytes.Equal(got, testutil.ReadFile(t, fixture)) {
		t.Errorf("ReadFile(%s) with Mdstat %s = %.40q, %v; want the fixture", MdstatPath, fixture, got, err)
	}
	if _, err := (HostSource{Mdstat: noMdstat(t)}).ReadFile(MdstatPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(%s) with a missing Mdstat = %v, want fs.ErrNotExist (no md RAID)", MdstatPath, err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := src.ReadFile(other); err != nil || string(got) != "x" {
		t.Errorf("ReadFile(%s) with Mdstat set = %q, %v; want the file itself", other, got, err)
	}
}
