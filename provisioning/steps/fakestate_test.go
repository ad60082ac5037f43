package steps

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strings"

	"counter/provisioning/inventory"
)

// lineDiff is a minimal diff: removed lines with -, added with +.
func lineDiff(path string, a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	var d strings.Builder
	fmt.Fprintf(&d, "--- %s\n+++ %s\n", path, path)
	for _, l := range al {
		if !slices.Contains(bl, l) {
			d.WriteString("-" + l + "\n")
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			d.WriteString("+" + l + "\n")
		}
	}
	return d.String()
}

// snapshot copies the state that steps may change, to compare.
func (st *fakeState) snapshot() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var b strings.Builder
	keys := make([]string, 0, len(st.files))
	for k := range st.files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s %x\n", k, st.files[k].mode, st.files[k].content)
	}
	fmt.Fprintf(&b, "packages %v counter %q fw %v restarts %v\n", st.packages, st.counter, st.fwLoaded, st.restarts)
	units := make([]string, 0, len(st.units))
	for k, u := range st.units {
		units = append(units, fmt.Sprintf("unit %s %v\n", k, *u))
	}
	slices.Sort(units)
	b.WriteString(strings.Join(units, ""))
	return b.String()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func resolveForTest(inv *inventory.Inventory) (map[string]netip.Addr, error) {
	out := map[string]netip.Addr{}
	for _, n := range inv.Nodes {
		a, err := netip.ParseAddr(n.Address)
		if err != nil {
			return nil, err
		}
		out[n.Name] = a
	}
	return out, nil
}

// fakeWriter writes files of a fakeHost as counterctl's one-command writer does.
type fakeWriter struct{ h *fakeHost }

func (w fakeWriter) WriteFile(_ context.Context, path string, data []byte, mode fs.FileMode, owner, group string) error {
	st := w.h.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.queries++
	st.files[path] = fakeFile{content: data, mode: fmt.Sprintf("%o:%s:%s", mode.Perm(), owner, group)}
	return nil
}
