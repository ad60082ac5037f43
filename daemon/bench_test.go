package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
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

// BenchmarkEventsFanout is the time from Publish until 1,000 open /events streams
// (HTTP/1.1, loopback) have all read the new value.
func BenchmarkEventsFanout(b *testing.B) {
	const clients = 1000
	f := newFixture(b, nil)
	cfg := f.srv.cfg
	cfg.Listen = "127.0.0.1:0"
	d, err := Listen(cfg, f.srv.log)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx, f.srv) }()
	defer func() { cancel(); <-served }()

	var got sync.WaitGroup
	want := make([]chan int64, clients)
	for i := range clients {
		c, err := net.Dial("tcp", d.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET /events HTTP/1.1\r\nHost: bench\r\n\r\n")
		r := bufio.NewReader(c)
		if _, err := r.ReadString('\n'); err != nil { // status line
			b.Fatal(err)
		}
		want[i] = make(chan int64, 1)
		go func(r *bufio.Reader, want chan int64) {
			target := <-want
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok && strings.TrimSpace(v) == strconv.FormatInt(target, 10) {
					got.Done()
					if target = <-want; target < 0 {
						return
					}
				}
			}
		}(r, want[i])
	}
	v := int64(1000)
	b.ResetTimer()
	for b.Loop() {
		v++
		got.Add(clients)
		for _, w := range want {
			w <- v
		}
		f.srv.hub.Publish(v)
		got.Wait()
	}
	b.StopTimer()
	for _, w := range want {
		w <- -1
	}
}
