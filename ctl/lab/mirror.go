package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Suite is the Debian release the lab's image is made of.
const Suite = "bookworm"

// debianKeyring is the Signed-By of the host's Debian sources; sources signed
// by another key are third-party repositories the image cannot verify.
const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// Source is one APT source, from either format.
type Source struct {
	URI        string
	Suites     []string
	Components []string
	SignedBy   string
}

// Mirror is what the lab takes from the host's APT configuration: the archive
// debootstrap uses, and the sources the nodes' sources.list gets.
type Mirror struct {
	Archive string
	Sources []Source
}

// SourcesList renders the nodes' /etc/apt/sources.list (one-line format).
func (m *Mirror) SourcesList() string {
	var b strings.Builder
	b.WriteString("# Written by counterctl lab from the host's APT sources.\n")
	for _, s := range m.Sources {
		for _, suite := range s.Suites {
			fmt.Fprintf(&b, "deb %s %s %s\n", s.URI, suite, strings.Join(s.Components, " "))
		}
	}
	return b.String()
}

// HostMirror reads the APT sources under root ("/" on a real host):
// etc/apt/sources.list.d/*.sources (deb822) and *.list, and etc/apt/sources.list.
func HostMirror(root string) (*Mirror, error) {
	var files []string
	for _, pat := range []string{"etc/apt/sources.list.d/*.sources", "etc/apt/sources.list.d/*.list"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	files = append(files, filepath.Join(root, "etc/apt/sources.list"))
	var all []Source
	for _, f := range files {
		fh, err := os.Open(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read apt sources: %w", err)
		}
		var src []Source
		if strings.HasSuffix(f, ".sources") {
			src, err = ParseDeb822(fh)
		} else {
			src, err = ParseOneLine(fh)
		}
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		all = append(all, src...)
	}
	return PickMirror(all)
}

// PickMirror keeps the Debian sources of Suite (and its -updates, -security
// and -backports suites); the archive is the first with Suite itself and main.
func PickMirror(all []Source) (*Mirror, error) {
	m := &Mirror{}
	for _, s := range all {
		if s.SignedBy != "" && s.SignedBy != debianKeyring {
			continue
		}
		var suites []string
		for _, suite := range s.Suites {
			if suite == Suite || strings.HasPrefix(suite, Suite+"-") {
				suites = append(suites, suite)
			}
		}
		if len(suites) == 0 {
			continue
		}
		s.Suites = suites
		m.Sources = append(m.Sources, s)
		if m.Archive == "" && slices.Contains(suites, Suite) && slices.Contains(s.Components, "main") {
			m.Archive = s.URI
		}
	}
	if m.Archive == "" {
		return nil, fmt.Errorf("no Debian %s source with component main in the host's APT sources (/etc/apt/sources.list.d/*.sources or /etc/apt/sources.list)", Suite)
	}
	return m, nil
}

// ParseDeb822 reads a deb822 .sources file; stanzas without Types: deb or
// with Enabled: no are skipped, and every URI of a stanza is one Source.
func ParseDeb822(r io.Reader) ([]Source, error) {
	var out []Source
	fields := map[string]string{}
	var last string
	flush := func() {
		defer clear(fields)
		if len(fields) == 0 || !slices.Contains(strings.Fields(fields["types"]), "deb") ||
			strings.EqualFold(fields["enabled"], "no") {
			return
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			out = append(out, Source{
				URI:        strings.TrimSuffix(uri, "/"),
				Suites:     strings.Fields(fields["suites"]),
				Components: strings.Fields(fields["components"]),
				SignedBy:   strings.TrimSpace(fields["signed-by"]),
			})
		}
	}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last == "" {
				return nil, fmt.Errorf("line %d: continuation line without a field", n)
			}
			fields[last] += "\n" + strings.TrimSpace(line)
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("line %d: want \"Field: value\"", n)
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out, sc.Err()
}

// ParseOneLine reads the classic "deb [opts] uri suite components..." format.
func ParseOneLine(r io.Reader) ([]Source, error) {
	var out []Source
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "deb" {
			continue
		}
		var s Source
		f = f[1:]
		if len(f) > 0 && strings.HasPrefix(f[0], "[") {
			end := slices.IndexFunc(f, func(x string) bool { return strings.HasSuffix(x, "]") })
			if end < 0 {
				return nil, fmt.Errorf("line %d: unclosed [options]", n)
			}
			for _, o := range f[:end+1] {
				k, v, _ := strings.Cut(strings.Trim(o, "[]"), "=")
				if k == "signed-by" {
					s.SignedBy = v
				}
			}
			f = f[end+1:]
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want \"deb URI SUITE [COMPONENT...]\"", n)
		}
		s.URI, s.Suites, s.Components = strings.TrimSuffix(f[0], "/"), []string{f[1]}, f[2:]
		out = append(out, s)
	}
	return out, sc.Err()
}
