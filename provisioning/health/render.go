package health

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"counter/provisioning/nagios"
)

// WriteText writes the plugin output: the summary line with performance
// data after "|" (the Nagios convention), then one line per failing check,
// worst first. Checks blocked by another failure are left out.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s | nodes_ready=%d;;;0;%d", r.Summary, r.NodesReady, r.Nodes)
	if r.MaxLagSeconds != nil {
		fmt.Fprintf(&b, " max_lag=%ds", *r.MaxLagSeconds)
	}
	b.WriteByte('\n')
	var failing []Result
	for _, res := range r.Results {
		if res.State.Failing() && res.BlockedBy == "" {
			failing = append(failing, res)
		}
	}
	// Stable: within a state, node then check order as in Results.
	slices.SortStableFunc(failing, func(a, b Result) int {
		return nagios.Compare(b.State, a.State)
	})
	for _, res := range failing {
		fmt.Fprintf(&b, "%s %s: %s: %s", res.State, res.Node, title(res.Check), oneLine(res.Message))
		if res.CappedFrom != nil {
			fmt.Fprintf(&b, " (%s, capped by --warn-only)", *res.CappedFrom)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine keeps a multi-line error from breaking the line-per-check format.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
