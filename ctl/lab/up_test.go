package lab

import (
	"io"
	"strings"
	"testing"
)

// TestAlreadyUpWithoutSecondaries: asking for secondaries of a lab that
// was brought up without them fails instead of saying nothing changed: its
// dns node NOTIFYs no node and its clients do not ask the anycast address.
func TestAlreadyUpWithoutSecondaries(t *testing.T) {
	_, p := defaultPlan(t)
	st := newState(t.TempDir())
	st.Plan = p
	l := &Lab{StateDir: st.dir, Out: io.Discard, DNSSecondaries: true}
	err := l.alreadyUp(t.Context(), st)
	if err == nil || !strings.Contains(err.Error(), "without --dns-secondaries") {
		t.Errorf("alreadyUp(lab without secondaries) = %v, want an error naming --dns-secondaries", err)
	}
}
