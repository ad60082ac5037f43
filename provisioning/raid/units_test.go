package raid

import (
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
