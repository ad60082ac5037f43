package lab

import (
	"net/netip"
	"testing"
)

func TestJumpOf(t *testing.T) {
	topo, err := DefaultTopology()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(topo, netip.MustParsePrefix("10.213.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
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
