package debpkg

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// docFiles are the package's documentation (copyright, changelog, manual
// pages) and lintian overrides.
func docFiles(s Spec, progs []program, version string, mtime time.Time) ([]stagedFile, error) {
	changelog, err := changelogFile(version, s.Maintainer, mtime)
	if err != nil {
		return nil, err
	}
	docs := []stagedFile{
		{"/usr/share/doc/" + Name + "/copyright", []byte(copyrightFile(s.Maintainer, mtime.Year())), 0o644},
		changelog,
	}
	if o := lintianOverrides(progs); o != "" {
		docs = append(docs, stagedFile{"/usr/share/lintian/overrides/" + Name, []byte(o), 0o644})
	}
	if s.ManPages == nil {
		return docs, nil
	}
	pages, err := s.ManPages(mtime)
	if err != nil {
		return nil, fmt.Errorf("manual pages: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(pages)) {
		section := name[strings.LastIndexByte(name, '.')+1:]
		if len(section) != 1 || section[0] < '1' || section[0] > '8' {
			return nil, fmt.Errorf("manual page %q: want a name ending in its section, .1 to .8", name)
		}
		gz, err := gzipped(pages[name])
		if err != nil {
			return nil, err
		}
		docs = append(docs, stagedFile{"/usr/share/man/man" + section + "/" + name + ".gz", gz, 0o644})
	}
	return docs, nil
}

// copyrightFile is a machine-readable debian/copyright.
func copyrightFile(maintainer string, year int) string {
	return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: counter
Upstream-Contact: ` + maintainer + `
Comment: counterd and counterctl are static Go programs. They contain the Go
 modules that "go version -m /usr/bin/counterd" lists; each module's licence
 is in its source.

Files: *
Copyright: ` + strconv.Itoa(year) + ` The counter authors
License: proprietary
 All rights reserved. Not for redistribution outside the operator of
 this deployment.
`
}

// changelogFile is the changelog Debian wants for a package without a
// Debian revision, compressed as lintian expects.
func changelogFile(version, maintainer string, mtime time.Time) (stagedFile, error) {
	text := fmt.Sprintf("%s (%s) bookworm; urgency=medium\n\n  * Built by counterctl from counter %s.\n\n -- %s  %s\n",
		Name, version, strings.SplitN(version, "+", 2)[0], maintainer, mtime.Format(time.RFC1123Z))
	gz, err := gzipped([]byte(text))
	if err != nil {
		return stagedFile{}, err
	}
	return stagedFile{"/usr/share/doc/" + Name + "/changelog.gz", gz, 0o644}, nil
}

// gzipped compresses as Debian wants documentation (gzip -9n: no name, no time).
func gzipped(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lintianOverrides explains Go's linking to lintian, which excuses it only
// in packages whose source build-depends on golang-go. A cgo-free program
// is static, or, where Go links PIE itself (see Compiler.Build), a PIE that
// needs no shared library.
func lintianOverrides(progs []program) string {
	var b strings.Builder
	for _, p := range progs {
		dest := strings.TrimPrefix(p.dest, "/")
		switch p.link {
		case linkStatic:
			fmt.Fprintf(&b, "# Go without cgo links statically by design.\n%s: statically-linked-binary [%s]\n", Name, dest)
		case linkPIE:
			fmt.Fprintf(&b, "# A Go PIE without cgo needs no libc; it is a program, not a library.\n%s: shared-library-lacks-prerequisites [%s]\n", Name, dest)
		}
	}
	return b.String()
}
