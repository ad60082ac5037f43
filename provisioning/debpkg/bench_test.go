package debpkg

import (
	"io"
	"testing"
)

// BenchmarkBuild measures packing both amd64 binaries into a .deb (xz),
// the cost provisioning pays once per architecture and run.
func BenchmarkBuild(b *testing.B) {
	bins := mustBinaries(b)
	spec := Spec{Version: "v0.1.0", Arch: "amd64", CounterdBinary: bins.Counterd,
		CounterctlBinary: bins.Counterctl, Maintainer: testMaintainer}
	var size int64
	for b.Loop() {
		w := &countWriter{}
		if _, err := Build(spec, w); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(size), "deb-bytes")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
