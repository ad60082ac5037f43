package geobench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/ctl/lab"
)

// TestReportAndChart: the tables judge each p99 against its target, the
// markdown says so per continent, the chart is a PNG, and the doc's result
// section is replaced between its marks and nowhere else.
func TestReportAndChart(t *testing.T) {
	g := labGeometry(t)
	results := map[string]ProbeResult{}
	for i, s := range g.Sites {
		r := ProbeResult{Continent: s.Continent, NewConn: []float64{50, 60}, Resumed: []float64{48}, Warm: []float64{16},
			Presses: []Press{{Value: int64(i + 1), SentNS: 0, MS: 20}}, Ping: []float64{15.5, 40}, PingLost: 2}
		if s.Continent == "na" {
			r.NewConn = []float64{50, 400} // over 300 ms
		}
		for range g.Sites {
			r.Events = append(r.Events, Event{Value: 100, AtNS: int64(400 * time.Millisecond)})
		}
		results[s.Continent] = r
	}
	tables, err := Tables(g, results)
	if err != nil {
		t.Fatal(err)
	}
	if r := tables[0].Rows[0]; !r.Pass() || r.P99 != 60 {
		t.Errorf("eu new connection: p99 %v pass %v, want 60 and a pass (target 75)", r.P99, r.Pass())
	}
	if r := tables[1].Rows[0]; r.Pass() {
		t.Errorf("na new connection p99 %v passes, want a fail (target %v)", r.P99, r.Target)
	}
	if r := tables[0].Rows[len(Figures)-1]; !r.Peer() || r.Figure != FigNetwork {
		t.Errorf("last row %q: peer %v, want the lab's round trip, judged against no target", r.Figure, r.Peer())
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, Meta{Command: "make geobench", When: time.Unix(0, 0)}, tables); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### na: client-na → na", "| page, new connection | 2 | 50.0 | 400.0 | 400.0 | 45 | 8.89 | 75 | **FAIL** |", "by address",
		// The peer is measured and shown beside its floor, never judged.
		"| lab round trip (ICMP echo, peer) | 2 (+2 lost) | 15.5 | 40.0 | 40.0 | 15 | 2.67 | – | peer | 1 × 15 ms |",
		"the warm page (one round trip too) is 0.5 ms above the echo at p50 and -24.0 ms at p99 (0.40 × the echo's p99)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	md.Reset()
	if err := WriteMarkdown(&md, Meta{Command: "make geobench", When: time.Unix(0, 0), LoadBefore: "1.00 1.00 1.00", LoadAfter: "9.00 2.00 1.00", CPUWait: 0.42}, tables); err != nil {
		t.Fatal(err)
	}
	if want := "1.00 1.00 1.00 before, 9.00 2.00 1.00 after. Some runnable task waited for a CPU during 42 % of the run"; !strings.Contains(md.String(), want) {
		t.Errorf("markdown lacks %q", want)
	}
	var png bytes.Buffer
	if err := WriteChart(&png, tables); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("chart is not a PNG")
	}

	doc := filepath.Join(t.TempDir(), "geobench.md")
	beginMark, endMark := marks("main")
	if err := os.WriteFile(doc, []byte("intro\n"+beginMark+"old\n"+endMark+"outro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceResults(doc, "main", []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(doc); string(got) != "intro\n"+beginMark+"new\n"+endMark+"outro\n" {
		t.Errorf("doc after ReplaceResults:\n%s", got)
	}
	if err := ReplaceResults(doc, "other", nil); err == nil {
		t.Error("ReplaceResults of a section without marks: no error")
	}
}

// TestReportResolver: the report says who answered the pages' lookups.
func TestReportResolver(t *testing.T) {
	dns := lab.Member{Name: "dns", Kind: lab.KindDNS, Continent: "eu"}
	tests := []struct {
		name string
		g    Geometry
		want string
	}{
		{"nearest node", Geometry{NearestDNS: true},
			"Pages resolve `<continent>.counter.lab.counter.test` through the nodes' Knot secondaries on the anycast address, the nearest node answering on every first-time load."},
		{"the dns node", Geometry{DNS: &dns},
			"Pages resolve `<continent>.counter.lab.counter.test` through the lab's DNS server in eu on every first-time load."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var md bytes.Buffer
			m := Meta{Command: "make geobench", When: time.Unix(0, 0), ByName: "<continent>.counter.lab.counter.test", Resolver: tt.g.Resolver()}
			if err := WriteMarkdown(&md, m, nil); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), tt.want) {
				t.Errorf("markdown lacks %q:\n%s", tt.want, md.String())
			}
		})
	}
}

// TestChartOfZeroSample: a sample of 0 ms cannot sit on the chart's log
// axis; the chart leaves it out instead of failing the run that measured
// it (gonum/plot panics on it: a 75 s run was lost so).
func TestChartOfZeroSample(t *testing.T) {
	g := labGeometry(t)
	results := map[string]ProbeResult{}
	for _, s := range g.Sites {
		results[s.Continent] = ProbeResult{Continent: s.Continent, NewConn: []float64{50}, Resumed: []float64{48},
			Warm: []float64{0, 16, 17}, Ping: []float64{15}}
	}
	tables, err := Tables(g, results)
	if err != nil {
		t.Fatal(err)
	}
	var png bytes.Buffer
	if err := WriteChart(&png, tables); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("chart is not a PNG")
	}
}
