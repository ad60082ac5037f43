package raid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// Where the check writes by default; the service unit names the same paths.
const (
	DefaultTextfileDir = "/var/lib/prometheus/node-exporter"
	DefaultStatePath   = "/var/lib/counter/raid.json"
)

// Options configure Run; zero values take the defaults.
type Options struct {
	Policy      Policy           // default PolicyOptional
	TextfileDir string           // node_exporter textfile directory
	StatePath   string           // JSON report for `counterctl health`
	Source      Source           // default HostSource reading Mdstat
	Mdstat      string           // the md array list; default MdstatPath
	Now         func() time.Time // default time.Now
}

// Run checks this node, writes the metrics file and the JSON state file
// (each atomically) and prints one Nagios-style status line to stdout. The
// returned error reports only files it could not write; the node's condition
// is in the report, whose Severity is the exit code a plugin should use.
func Run(ctx context.Context, opts Options, stdout io.Writer) (Report, error) {
	if opts.Policy == "" {
		opts.Policy = PolicyOptional
	}
	if _, err := ParsePolicy(string(opts.Policy)); err != nil {
		return Report{}, err
	}
	if opts.TextfileDir == "" {
		opts.TextfileDir = DefaultTextfileDir
	}
	if opts.StatePath == "" {
		opts.StatePath = DefaultStatePath
	}
	if opts.Source == nil {
		opts.Source = HostSource{Mdstat: opts.Mdstat}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := check(ctx, opts.Source, opts.Policy, opts.Now())

	var errs []error
	state, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		errs = append(errs, fmt.Errorf("encode raid report: %w", err))
	} else if err := WriteFileAtomic(opts.StatePath, append(state, '\n'), 0o644); err != nil {
		errs = append(errs, err)
	}
	var prom bytes.Buffer
	if err := WriteTextfile(&prom, r); err != nil {
		errs = append(errs, err)
	} else if err := WriteFileAtomic(filepath.Join(opts.TextfileDir, TextfileName), prom.Bytes(), 0o644); err != nil {
		errs = append(errs, err)
	}
	if _, err := fmt.Fprintf(stdout, "RAID %s - %s\n", r.Severity, r.Summary); err != nil {
		errs = append(errs, fmt.Errorf("print raid status: %w", err))
	}
	return r, errors.Join(errs...)
}
