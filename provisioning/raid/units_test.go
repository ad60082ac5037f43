package raid

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unitValues returns every value of key in a unit file.
func unitValues(unit, key string) []string {
	var vals []string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

func TestServiceUnitMatchesDefaults(t *testing.T) {
	exec := unitValues(ServiceUnit, "ExecStart")
	if len(exec) != 1 {
		t.Fatalf("ExecStart lines = %q, want one", exec)
	}
	want := "/usr/bin/counterctl node raid-check --policy optional --textfile-dir " + DefaultTextfileDir + " --state " + DefaultStatePath
	if exec[0] != want {
		t.Errorf("ExecStart = %q, want %q", exec[0], want)
	}
	rw := strings.Fields(strings.Join(unitValues(ServiceUnit, "ReadWritePaths"), " "))
	for _, dir := range []string{DefaultTextfileDir, filepath.Dir(DefaultStatePath)} {
		if !slices.Contains(rw, "-"+dir) {
			t.Errorf("ReadWritePaths %q lack %s", rw, dir)
		}
	}
	for key, value := range map[string]string{
		"Type": "oneshot", "ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
		"SuccessExitStatus": "1 2 3",
	} {
		if got := unitValues(ServiceUnit, key); !slices.Equal(got, []string{value}) {
			t.Errorf("service %s = %q, want %q", key, got, value)
		}
	}
	for key, value := range map[string]string{
		"OnCalendar": "*:0/5", "Persistent": "true", "RandomizedDelaySec": "60", "WantedBy": "timers.target",
	} {
		if got := unitValues(TimerUnit, key); !slices.Equal(got, []string{value}) {
			t.Errorf("timer %s = %q, want %q", key, got, value)
		}
	}
}

func TestServiceUnitFor(t *testing.T) {
	unit, err := ServiceUnitFor(PolicyRequired)
	if err != nil {
		t.Fatal(err)
	}
	if got := unitValues(unit, "ExecStart")[0]; !strings.Contains(got, " --policy required ") {
		t.Errorf("ExecStart = %q, want --policy required", got)
	}
	if _, err := ServiceUnitFor("always"); err == nil {
		t.Error("ServiceUnitFor(\"always\") succeeded, want an error")
	}
}

// systemd itself must accept both units without a single warning.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd); cannot verify the units")
	}
	dir := t.TempDir()
	// verify insists that ExecStart exists; counterctl is not installed here.
	service := strings.Replace(ServiceUnit, "ExecStart=/usr/bin/counterctl", "ExecStart=/bin/true", 1)
	files := map[string]string{ServiceUnitName: service, TimerUnitName: TimerUnit}
	var paths []string
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
