package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks time the handler.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func benchmarkGet(b *testing.B, path string) {
	f := newFixture(b, nil)
	r := httptest.NewRequest("GET", path, nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		f.srv.ServeHTTP(w, r)
	}
}

// BenchmarkPage is the handler cost of GET / (the pre-rendered page), without the network.
func BenchmarkPage(b *testing.B) { benchmarkGet(b, "/") }

// BenchmarkGetValue is the handler cost of GET /getvalue.
func BenchmarkGetValue(b *testing.B) { benchmarkGet(b, "/getvalue") }
