package nagios

import (
	"encoding/json"
	"testing"
)

func TestStateWorse(t *testing.T) {
	tests := []struct {
		name string
		a, b State
		want State
	}{
		{"ok and warning", OK, Warning, Warning},
		{"critical beats unknown", Unknown, Critical, Critical},
		{"unknown beats warning", Warning, Unknown, Unknown},
		{"skipped counts for nothing", Skipped, Warning, Warning},
		{"ok over skipped", Skipped, OK, OK},
		{"skipped keeps ok", OK, Skipped, OK},
		{"critical over ok", OK, Critical, Critical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Worse(tt.b); got != tt.want {
				t.Errorf("%s.Worse(%s) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
			if got := tt.b.Worse(tt.a); got != tt.want {
				t.Errorf("%s.Worse(%s) = %s, want %s", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestCompareOrdersBySeriousness(t *testing.T) {
	// From least to most serious; Skipped and OK count the same.
	order := []State{Skipped, Warning, Unknown, Critical}
	for i, a := range order {
		for j, b := range order {
			if got := Compare(a, b); (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("Compare(%s, %s) = %d, want the sign of %d", a, b, got, i-j)
			}
		}
	}
	if got := Compare(OK, Skipped); got != 0 {
		t.Errorf("Compare(OK, SKIPPED) = %d, want 0", got)
	}
}

func TestStateExitCodeAndJSON(t *testing.T) {
	for _, tt := range []struct {
		s    State
		code int
		name string
	}{{OK, 0, `"OK"`}, {Warning, 1, `"WARNING"`}, {Critical, 2, `"CRITICAL"`}, {Unknown, 3, `"UNKNOWN"`}, {Skipped, 0, `"SKIPPED"`}} {
		if got := tt.s.ExitCode(); got != tt.code {
			t.Errorf("%s.ExitCode() = %d, want %d", tt.s, got, tt.code)
		}
		b, err := json.Marshal(tt.s)
		if err != nil || string(b) != tt.name {
			t.Errorf("json.Marshal(%s) = %s, %v; want %s", tt.s, b, err, tt.name)
		}
		var back State
		if err := json.Unmarshal(b, &back); err != nil || back != tt.s {
			t.Errorf("round trip of %s = %s, %v", tt.s, back, err)
		}
	}
	var s State
	if err := json.Unmarshal([]byte(`"FINE"`), &s); err == nil {
		t.Error(`Unmarshal("FINE") succeeded, want an error`)
	}
}
