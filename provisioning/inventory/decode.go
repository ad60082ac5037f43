package inventory

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

type decodeOptions struct {
	file string // as shown in messages
	dir  string // relative paths resolve against it
	home string // `~/` expands to it
}

// decoder walks the yaml.Node tree by hand rather than unmarshalling into
// structs, so every message can carry the line and the field path.
type decoder struct {
	decodeOptions
	errs []*FieldError
}

func (d *decoder) failf(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *FieldError) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// mapping is a decoded YAML mapping whose keys were checked against the known ones.
type mapping struct {
	node   *yaml.Node
	path   string
	values map[string]*yaml.Node
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping checks that n is a mapping with only known, unrepeated keys.
func (d *decoder) mapping(n *yaml.Node, path string, known ...string) (mapping, bool) {
	n = resolve(n)
	m := mapping{node: n, path: path, values: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		d.failf(n, path, "want a mapping (key: value lines), got %s", describe(n))
		return m, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := join(path, k.Value)
		switch {
		case !slices.Contains(known, k.Value):
			if near := nearest(k.Value, known); near != "" {
				d.failf(k, field, "unknown field; did you mean %s?", near)
			} else {
				d.failf(k, field, "unknown field (known: %s)", strings.Join(known, ", "))
			}
		case m.values[k.Value] != nil:
			d.failf(k, field, "repeated field (first on line %d)", m.values[k.Value].Line)
		default:
			m.values[k.Value] = resolve(v)
		}
	}
	return m, true
}

// get returns the value of key, or nil if absent or null.
func (m mapping) get(key string) *yaml.Node {
	v := m.values[key]
	if v == nil || (v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
		return nil
	}
	return v
}

// require reports a missing key at the mapping's line.
func (d *decoder) require(m mapping, key string) *yaml.Node {
	v := m.get(key)
	if v == nil {
		d.failf(m.node, join(m.path, key), "required")
	}
	return v
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.failf(n, field, "want a string, got %s", describe(n))
		return "", false
	}
	if n.Value == "" {
		d.failf(n, field, "empty")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) port(n *yaml.Node, field string) (int, bool) {
	if n.Kind != yaml.ScalarNode {
		d.failf(n, field, "want a port number, got %s", describe(n))
		return 0, false
	}
	p, err := strconv.Atoi(n.Value)
	if err != nil || p < 1 || p > 65535 {
		d.failf(n, field, "port %q out of range (want 1-65535)", n.Value)
		return 0, false
	}
	return p, true
}

func (d *decoder) duration(n *yaml.Node, field string) (time.Duration, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		d.failf(n, field, "bad duration %q (want e.g. 10s, 5m, 1h30m)", s)
		return 0, false
	}
	return v, true
}

func (d *decoder) path(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	switch {
	case s == "~" || strings.HasPrefix(s, "~/"):
		if d.home == "" {
			d.failf(n, field, "cannot expand %q: no home directory ($HOME unset)", s)
			return "", false
		}
		return filepath.Join(d.home, strings.TrimPrefix(s, "~")), true
	case strings.HasPrefix(s, "~"):
		d.failf(n, field, "%q: only ~/ (your own home) is expanded", s)
		return "", false
	case filepath.IsAbs(s):
		return filepath.Clean(s), true
	}
	return filepath.Join(d.dir, s), true
}

func (d *decoder) oneOf(n *yaml.Node, field, what string, allowed ...string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.failf(n, field, "unknown %s %q (want %s)", what, s, orList(allowed))
		return "", false
	}
	return s, true
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	envRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// POSIX portable user names, as useradd accepts them on Debian.
	userRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

func (d *decoder) name(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	if !nameRE.MatchString(s) {
		d.failf(n, field, "bad name %q (want [a-z][a-z0-9-]{0,31}: lowercase letter, then up to 31 lowercase letters, digits or dashes)", s)
		return "", false
	}
	return s, true
}

// parse turns a YAML document into the node tree, mapping syntax errors to file:line.
func (d *decoder) parse(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Msg: "YAML syntax: " + msg})
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		d.errs = append(d.errs, &FieldError{File: d.file, Line: 1, Msg: "empty inventory"})
		return nil
	}
	return doc.Content[0]
}

var yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// nearest returns the known key within two edits of s, for "did you mean".
func nearest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
