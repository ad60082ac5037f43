//go:build !node

package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"counter/ctl/geobench"
)

type geobenchOptions struct {
	stateDir, doc, section, chart, command, raw string
	quick                                       bool
	rate                                        float64
}

// newGeobenchCmd measures the lab from every continent (make geobench).
// Hidden: it is a benchmark of the lab, documented in docs/geobench.md.
func newGeobenchCmd() *cobra.Command {
	o := &geobenchOptions{}
	cmd := &cobra.Command{
		Use:    "geobench",
		Short:  "Measure page loads, presses and propagation from every continent of a provisioned lab",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stateDir, "state-dir", "/var/lib/counter-lab", "the lab's state directory")
	f.BoolVar(&o.quick, "quick", false, "a short smoke run (few samples, no meaningful p99)")
	f.Float64Var(&o.rate, "rate", 0, "background reads per second over all nodes (0: 2100)")
	f.StringVar(&o.doc, "doc", "docs/geobench.md", "markdown file whose result section is rewritten")
	f.StringVar(&o.section, "section", "main", "which result section of --doc to rewrite")
	f.StringVar(&o.chart, "chart", "docs/geobench.png", "PNG chart to write")
	f.StringVar(&o.raw, "raw", "", "also write every probe's samples (JSON) to this file")
	f.StringVar(&o.command, "command", "make geobench", "the command recorded with the results")
	return cmd
}

func (o *geobenchOptions) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find counterctl: %w", err)
	}
	counts := geobench.Full
	if o.quick {
		counts = geobench.Quick
	}
	if o.rate > 0 {
		counts.BgRate = o.rate
	}
	r := &geobench.Runner{StateDir: o.stateDir, Exe: exe, Counts: counts,
		Log: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))}
	g, cfgs, byName, err := r.Plan(ctx)
	if err != nil {
		return err
	}
	start, loadBefore, stallBefore := time.Now(), loadAvg(), cpuStall()
	results, err := r.Probe(ctx, cfgs, g.Sites)
	if err != nil {
		return err
	}
	loadAfter, stallAfter, took := loadAvg(), cpuStall(), time.Since(start)
	cpuWait := -1.0
	if stallBefore >= 0 && stallAfter >= stallBefore {
		cpuWait = float64(stallAfter-stallBefore) / float64(took)
	}
	if o.raw != "" {
		b, err := json.Marshal(results)
		if err == nil {
			err = os.WriteFile(o.raw, b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("write raw results: %w", err)
		}
	}
	tables, err := geobench.Tables(g, results)
	if err != nil {
		return err
	}
	var md bytes.Buffer
	meta := geobench.Meta{Command: o.command, When: start, Quick: o.quick, ByName: byName, Resolver: g.Resolver(),
		BgTarget: counts.BgRate, LoadBefore: loadBefore, LoadAfter: loadAfter, CPUWait: cpuWait}
	if err := geobench.WriteMarkdown(&md, meta, tables); err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), md.String())
	var png bytes.Buffer
	if err := geobench.WriteChart(&png, tables); err != nil {
		return err
	}
	if err := os.WriteFile(o.chart, png.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	return geobench.ReplaceResults(o.doc, o.section, md.Bytes())
}

// loadAvg is the host's 1, 5 and 15 minute load averages, "" if unknown.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// newGeobenchClientCmd is one continent's probe, run by geobench inside a
// client namespace: its configuration as JSON on stdin, its result as JSON
// on stdout.
func newGeobenchClientCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "geobench-client",
		Short:  "One continent's geobench probe (run by geobench in a lab client namespace)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg geobench.ProbeConfig
			if err := json.NewDecoder(cmd.InOrStdin()).Decode(&cfg); err != nil {
				return fmt.Errorf("probe configuration on stdin: %w", err)
			}
			p, err := geobench.NewProbe(cfg)
			if err != nil {
				return err
			}
			return p.Run(cmd.Context()).Encode(cmd.OutOrStdout())
		},
	}
}

// cpuStall is the host's CPU pressure stall total, -1 if unknown (a kernel
// without PSI).
func cpuStall() time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return -1
	}
	d, err := geobench.CPUStall(b)
	if err != nil {
		return -1
	}
	return d
}
