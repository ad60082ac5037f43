package lab

import (
	"testing"
)

func TestJumpOf(t *testing.T) {
	_, p := defaultPlan(t)
	tests := []struct {
		name    string
		running []string
		want    string // "" for no jump host
	}{
		{"master up", []string{"master", "mirror", "na"}, "master"},
		{"master killed", []string{"mirror", "na"}, "mirror"},
		{"both killed", []string{"na", "sa"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{Plan: p, Containers: map[string]Proc{}}
			for _, n := range tt.running {
				st.Containers[n] = Proc{}
			}
			m, ok := jumpOf(st)
			if got := map[bool]string{true: m.Name}[ok]; got != tt.want {
				t.Errorf("jumpOf with %v running = %q, want %q", tt.running, got, tt.want)
			}
		})
	}
}
