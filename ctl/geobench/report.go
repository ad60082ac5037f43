package geobench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Row is one figure of one continent.
type Row struct {
	Figure        string
	Samples       []float64 // ms
	Missed        int       // presses some page never showed (propagation)
	Backwards     int       // presses given a value the pages had shown before (propagation)
	P50, P95, P99 float64
	Bound
}

// Pass reports whether the p99 is within the target.
func (r Row) Pass() bool {
	return len(r.Samples) > 0 && r.Missed == 0 && r.Backwards == 0 && r.P99 <= msOf(r.Target)
}

// Peer reports whether the row is the lab's own round trip, measured to
// read the others against and judged against no target.
func (r Row) Peer() bool { return r.Target == 0 }

// Table is one continent's rows.
type Table struct {
	Site Site
	Rows []Row
	Res  ProbeResult
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Tables turns the probes' results into one table per site, in site order.
func Tables(g Geometry, results map[string]ProbeResult) ([]Table, error) {
	var out []Table
	for _, s := range g.Sites {
		res, ok := results[s.Continent]
		if !ok {
			return nil, fmt.Errorf("no result from %s's probe", s.Continent)
		}
		bounds, err := g.Bounds(s)
		if err != nil {
			return nil, err
		}
		var others []ProbeResult
		for _, o := range g.Sites {
			if o.Continent != s.Continent {
				others = append(others, results[o.Continent])
			}
		}
		prop, missed, backwards := Propagation(res, others)
		presses := make([]float64, len(res.Presses))
		for i, p := range res.Presses {
			presses[i] = p.MS
		}
		samples := map[string][]float64{FigNewConn: res.NewConn, FigResumed: res.Resumed, FigWarm: res.Warm,
			FigPress: presses, FigPropagate: prop, FigNetwork: res.Ping}
		t := Table{Site: s, Res: res}
		for _, f := range Figures {
			r := Row{Figure: f, Samples: samples[f], Bound: bounds[f],
				P50: Percentile(samples[f], 50), P95: Percentile(samples[f], 95), P99: Percentile(samples[f], 99)}
			if f == FigPropagate {
				r.Missed, r.Backwards = missed, backwards
			}
			t.Rows = append(t.Rows, r)
		}
		out = append(out, t)
	}
	return out, nil
}

// Meta is what the report says about the run.
type Meta struct {
	Command  string
	When     time.Time
	Quick    bool
	ByName   string // the name pages resolve, "" when by address
	Resolver string // who answers them, as Geometry.Resolver says
	BgTarget float64
	// LoadBefore and LoadAfter are the host's /proc/loadavg around the run:
	// every node, probe and the delay router share its cores.
	LoadBefore, LoadAfter string
	// CPUWait is the share of the run during which some runnable task on
	// the host waited for a CPU (pressure stall information); negative
	// when the kernel does not say.
	CPUWait float64
}

// WriteMarkdown writes the run's summary and one table per continent.
func WriteMarkdown(w io.Writer, m Meta, tables []Table) error {
	var b strings.Builder
	mode := "full"
	if m.Quick {
		mode = "quick (smoke: too few samples for a p99)"
	}
	fmt.Fprintf(&b, "Run %s, %s mode: `%s`\n\n", m.When.UTC().Format("2006-01-02 15:04 MST"), mode, m.Command)
	if m.ByName != "" {
		resolver := m.Resolver
		if resolver == "" {
			resolver = "through the lab's DNS server"
		}
		fmt.Fprintf(&b, "Pages resolve `%s` %s on every first-time load.\n", m.ByName, resolver)
	} else {
		b.WriteString("Pages are loaded **by address** (each continent's node): the lab's DNS does not serve the service name yet, so no DNS round trip is in the figures or the floors.\n")
	}
	var ok, failed, skipped, pressN int
	var secs float64
	for _, t := range tables {
		ok += t.Res.Bg.OK
		failed += t.Res.Bg.Failed
		skipped += t.Res.Bg.Skipped
		secs = max(secs, t.Res.Bg.Seconds)
		pressN += len(t.Res.Presses)
	}
	rate := 0.0
	if secs > 0 {
		rate = float64(ok) / secs
	}
	fmt.Fprintf(&b, "Background: %.0f answered reads/s (target %.0f; %d failed, %d skipped as over %d in flight) over %.0f s, and %d presses by as many new users, %.1f/s, from all continents.\n\n",
		rate, m.BgTarget, failed, skipped, maxInFlight, secs, pressN, float64(pressN)/max(secs, 1))
	if m.LoadBefore != "" {
		fmt.Fprintf(&b, "Host load average (1, 5, 15 min; the lab's nodes, the probes and the delay router share its cores): %s before, %s after.", m.LoadBefore, m.LoadAfter)
		if m.CPUWait >= 0 {
			fmt.Fprintf(&b, " Some runnable task waited for a CPU during %.0f %% of the run (/proc/pressure/cpu).", 100*m.CPUWait)
		}
		b.WriteString("\n\n")
	}
	for _, t := range tables {
		fmt.Fprintf(&b, "### %s: %s → %s\n\n", t.Site.Continent, t.Site.Client.Name, t.Site.Node.Name)
		b.WriteString("| figure | n | p50 ms | p95 ms | p99 ms | floor ms | p99/floor | target ms | result | floor from |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
		for _, r := range t.Rows {
			res, target := "PASS", fmt.Sprintf("%.0f", msOf(r.Target))
			switch {
			case r.Peer():
				res, target = "peer", "–"
			case !r.Pass():
				res = "**FAIL**"
			}
			n := fmt.Sprint(len(r.Samples))
			if r.Missed > 0 {
				n += fmt.Sprintf(" (+%d never seen)", r.Missed)
			}
			if r.Backwards > 0 {
				n += fmt.Sprintf(" (+%d given a value already shown: the counter went back)", r.Backwards)
			}
			if r.Peer() && t.Res.PingLost > 0 {
				n += fmt.Sprintf(" (+%d lost)", t.Res.PingLost)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s |\n", r.Figure, n,
				num(r.P50), num(r.P95), num(r.P99), msOf(r.Floor), ratio(r.P99, msOf(r.Floor)), target, res, r.Why)
		}
		if s := againstPeer(t.Rows); s != "" {
			b.WriteString("\n" + s + "\n")
		}
		res := t.Res
		fmt.Fprintf(&b, "\nResumed %d of %d returning loads; protocols %v; answered by %v; %d failures",
			res.ResumedOK, len(res.Resumed), res.Protocols, res.Nodes, res.Failures)
		if len(res.Errors) > 0 {
			fmt.Fprintf(&b, " (first: %s)", res.Errors[0])
		}
		b.WriteString(".\n\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// againstPeer says how far the warm page, one round trip like the echo,
// is above the lab's own round trip in the same run: what of its tail the
// product adds, and what the lab has anyway.
func againstPeer(rows []Row) string {
	var warm, peer Row
	for _, r := range rows {
		switch r.Figure {
		case FigWarm:
			warm = r
		case FigNetwork:
			peer = r
		}
	}
	if len(warm.Samples) == 0 || len(peer.Samples) == 0 {
		return ""
	}
	return fmt.Sprintf("Against the lab's own round trip in this run: the warm page (one round trip too) is %s ms above the echo at p50 and %s ms at p99 (%s × the echo's p99).",
		num(warm.P50-peer.P50), num(warm.P99-peer.P99), ratio(warm.P99, peer.P99))
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.1f", x)
}

func ratio(x, floor float64) string {
	if math.IsNaN(x) || floor <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", x/floor)
}
