package raid

import (
	"context"
	"io"
	"slices"
	"testing"
)

// BenchmarkCheck measures one timer run's parsing and grading over recorded
// outputs (the tools' own run time on a real node is not included).
func BenchmarkCheck(b *testing.B) {
	for _, name := range []string{"md-mixed", "storcli-healthy", "ssacli-healthy", "megacli-learning"} {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == name })
		s := scenarios[i]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r := check(context.Background(), s.source(), PolicyRequired, checkTime)
				if err := WriteTextfile(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
