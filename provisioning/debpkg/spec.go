// Package debpkg builds the Debian package "counter" that provisioning
// installs on every node: counterd, counterctl, their systemd units and the
// maintainer scripts that create the counterd user and enable the units.
// The same inputs give a byte-identical .deb, and the package version embeds
// a hash of what it ships, so `dpkg-query -W counter` on a node tells
// whether the node already has this exact build.
package debpkg

import (
	"bytes"
	"debug/elf"
	"fmt"
	"net/mail"
	"os"
	"time"
)

// Name is the Debian package name.
const Name = "counter"

// DefaultEpoch (2026-01-01 UTC, in Unix seconds) stamps every file when
// Spec.MTime is zero. Any fixed time keeps builds reproducible; a recent one
// keeps lintian from calling the files ancient.
const DefaultEpoch = 1767225600

// Spec is what one package is built from.
type Spec struct {
	// Version is the build version (buildinfo's, e.g. "v1.2.3" or "dev");
	// see UpstreamVersion for how it becomes Debian's.
	Version string
	// Arch is the Debian architecture of the binaries (Target.DebArch).
	Arch string
	// CounterdBinary and CounterctlBinary are paths of the programs,
	// already built for Arch (Compiler.Build).
	CounterdBinary   string
	CounterctlBinary string
	// Maintainer is "Full Name <address>", as Debian requires.
	Maintainer string
	// Description is the one-line synopsis; empty means the default.
	Description string
	// MTime stamps files and archive members; zero means DefaultEpoch.
	// SOURCE_DATE_EPOCH (the commit time) is a good choice.
	MTime time.Time
	// ManPages renders the manual pages to ship, by file name ("counterd.8",
	// "counterctl.1"), dated the package's MTime; nil ships none. They are
	// documentation: like the changelog, they stay out of the version's hash.
	ManPages func(date time.Time) (map[string][]byte, error)
}

const defaultSynopsis = "global counter page and API, served from Redis"

// extendedDescription is the control file's long description; its last
// paragraph tells admins why dpkg never asks about counterd's config.
const extendedDescription = `counterd serves one global number and a button: authenticated users
may press it once per 24 hours. Reads come from the nearest Redis
replica, writes go to the master.

counterctl here is the node's build: the checks that run on a node,
such as the RAID check counter-raid-check.timer runs. Provisioning and
the lab are in the admin's counterctl.

/etc/counterd (counterd.yaml, the Redis password and TLS client key)
is written by counterctl provision. It is not a conffile, so upgrades
never prompt about it; purging the package removes it and
/etc/default/counterd.`

// check rejects a Spec that would make a broken or misleading package and
// returns its Target.
func (s Spec) check() (Target, error) {
	t, err := ParseArch(s.Arch)
	if err != nil {
		return Target{}, err
	}
	if t.DebArch != s.Arch {
		return Target{}, fmt.Errorf("arch %q: want the Debian name %q", s.Arch, t.DebArch)
	}
	addr, err := mail.ParseAddress(s.Maintainer)
	if err != nil || addr.Name == "" {
		return Target{}, fmt.Errorf("maintainer %q: want \"Full Name <address>\"", s.Maintainer)
	}
	return t, nil
}

// program is one binary the package ships, read once: the bytes checked
// and hashed are the bytes packed, even if the file is rebuilt meanwhile.
type program struct {
	dest string // path in the package
	data []byte
	link linkage
}

// readProgram reads the binary at path and checks it is a program for t.
func readProgram(path, dest string, t Target) (program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return program{}, fmt.Errorf("binary: %w", err)
	}
	link, err := checkELF(data, t)
	if err != nil {
		return program{}, fmt.Errorf("binary %s: %w", path, err)
	}
	return program{dest: dest, data: data, link: link}, nil
}

// linkage is how a Go program is linked, as far as lintian cares.
type linkage int

const (
	linkStatic  linkage = iota // ET_EXEC, no interpreter: lintian's statically-linked-binary
	linkPIE                    // ET_DYN without DT_NEEDED: lintian calls it a shared library without libc
	linkDynamic                // links C libraries (cgo); nothing to explain
)

// checkELF refuses a binary built for another machine: dpkg would install
// it and systemd would fail with "Exec format error" on the node.
func checkELF(data []byte, t Target) (linkage, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("not an ELF program: %w", err)
	}
	want := map[string]elf.Machine{
		"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "armhf": elf.EM_ARM,
		"i386": elf.EM_386, "ppc64el": elf.EM_PPC64, "s390x": elf.EM_S390,
	}[t.DebArch]
	if f.Machine != want {
		return 0, fmt.Errorf("built for %s, want %s (%s)", f.Machine, want, t.DebArch)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return 0, fmt.Errorf("ELF type %s, want an executable", f.Type)
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return linkDynamic, nil
	}
	if f.Type == elf.ET_DYN {
		return linkPIE, nil
	}
	return linkStatic, nil
}
