package debpkg

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"counter/daemon"
	"counter/provisioning/raid"
)

//go:embed scripts/postinst scripts/prerm scripts/postrm
var scripts embed.FS

// Package describes a built .deb.
type Package struct {
	Name     string // "counter"
	Version  string // e.g. "1.2.3+sha256.0123456789ab"; what dpkg-query reports
	Arch     string // Debian architecture
	FileName string // Debian's conventional name: counter_<version>_<arch>.deb
	SHA256   string // hex digest of the .deb's bytes
}

// stagedFile is one file of the package before nfpm reads it from disk.
type stagedFile struct {
	name string // absolute destination, or a maintainer script's name
	data []byte
	mode fs.FileMode
}

// Build writes the package described by s to w. The same Spec (and the
// same binary contents) always gives the same bytes.
func Build(s Spec, w io.Writer) (Package, error) {
	l, err := plan(s)
	if err != nil {
		return Package{}, err
	}
	return l.pack(w)
}

// layout is everything a package is made of, read and rendered, before
// nfpm packs (and xz compresses, the slow part) it.
type layout struct {
	payload []stagedFile // installed files, documentation included
	ctrl    []stagedFile // maintainer scripts
	control control
}

// control is the package's metadata and what stageInfo adds to the files.
// Every field goes into cacheKey, so a new field is covered by the cache.
type control struct {
	Name, Version, Arch, Section, Priority string
	Maintainer, Description                string
	Depends                                []string
	Dirs                                   []string // directories shipped empty
	Compression                            string
	MTime                                  int64 // Unix seconds, UTC
}

// plan reads and checks the binaries and renders every file of the package.
func plan(s Spec) (layout, error) {
	t, err := s.check()
	if err != nil {
		return layout{}, fmt.Errorf("package spec: %w", err)
	}
	upstream, err := UpstreamVersion(s.Version)
	if err != nil {
		return layout{}, fmt.Errorf("package spec: %w", err)
	}
	var progs []program
	for _, b := range []struct{ path, dest string }{
		{s.CounterdBinary, "/usr/bin/counterd"},
		{s.CounterctlBinary, "/usr/bin/counterctl"},
	} {
		p, err := readProgram(b.path, b.dest, t)
		if err != nil {
			return layout{}, fmt.Errorf("package spec: %w", err)
		}
		progs = append(progs, p)
	}
	payload := payloadFiles(progs)
	ctrl, err := scriptFiles()
	if err != nil {
		return layout{}, err
	}
	mtime := s.MTime.UTC()
	if s.MTime.IsZero() {
		mtime = time.Unix(DefaultEpoch, 0).UTC()
	}
	// The hash covers what a node runs. Documentation is added after: the
	// changelog restates the version, and neither changes behaviour.
	version := upstream + "+sha256." + contentHash(slices.Concat(payload, ctrl))
	docs, err := docFiles(s, progs, version, mtime)
	if err != nil {
		return layout{}, err
	}
	synopsis := s.Description
	if synopsis == "" {
		synopsis = defaultSynopsis
	}
	return layout{
		payload: append(payload, docs...),
		ctrl:    ctrl,
		control: control{
			Name: Name, Version: version, Arch: s.Arch, Section: "net", Priority: "optional",
			Maintainer: s.Maintainer, Description: synopsis + "\n" + extendedDescription,
			Depends: []string{"adduser"},
			// Shipped, not made in postinst, so dpkg -S names its owner; the
			// RAID check writes its state here.
			Dirs:        []string{"/var/lib/counter"},
			Compression: "xz",
			MTime:       mtime.Unix(),
		},
	}, nil
}

// pack writes the package to w.
func (l layout) pack(w io.Writer) (Package, error) {
	stage, err := os.MkdirTemp("", "counter-deb-")
	if err != nil {
		return Package{}, fmt.Errorf("stage package: %w", err)
	}
	defer os.RemoveAll(stage)
	info, err := stageInfo(stage, l)
	if err != nil {
		return Package{}, err
	}
	sum := sha256.New()
	if err := deb.Default.Package(info, io.MultiWriter(w, sum)); err != nil {
		return Package{}, fmt.Errorf("write package: %w", err)
	}
	return l.describe(hex.EncodeToString(sum.Sum(nil))), nil
}

// describe is the Package that l packs into, given the digest of its bytes.
func (l layout) describe(sha string) Package {
	return Package{
		Name:     Name,
		Version:  l.control.Version,
		Arch:     l.control.Arch,
		FileName: fmt.Sprintf("%s_%s_%s.deb", Name, l.control.Version, l.control.Arch),
		SHA256:   sha,
	}
}

// BuildFile builds the package into dir under its conventional file name
// and returns it with its path. The file appears complete or not at all.
func BuildFile(s Spec, dir string) (Package, string, error) {
	tmp, err := os.CreateTemp(dir, ".counter-deb-")
	if err != nil {
		return Package{}, "", fmt.Errorf("create package file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	p, err := Build(s, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write package file: %w", cerr)
	}
	if err != nil {
		return Package{}, "", err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return Package{}, "", fmt.Errorf("write package file: %w", err)
	}
	path := filepath.Join(dir, p.FileName)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Package{}, "", fmt.Errorf("write package file: %w", err)
	}
	return p, path, nil
}

// payloadFiles is everything the package installs.
func payloadFiles(progs []program) []stagedFile {
	var out []stagedFile
	for _, p := range progs {
		out = append(out, stagedFile{p.dest, p.data, 0o755})
	}
	return append(out,
		stagedFile{"/lib/systemd/system/counterd.service", []byte(daemon.UnitFile), 0o644},
		stagedFile{"/lib/systemd/system/" + raid.ServiceUnitName, []byte(raid.ServiceUnit), 0o644},
		stagedFile{"/lib/systemd/system/" + raid.TimerUnitName, []byte(raid.TimerUnit), 0o644},
	)
}

func scriptFiles() ([]stagedFile, error) {
	var out []stagedFile
	for _, name := range []string{"postinst", "prerm", "postrm"} {
		b, err := scripts.ReadFile("scripts/" + name)
		if err != nil {
			return nil, fmt.Errorf("maintainer script %s: %w", name, err)
		}
		out = append(out, stagedFile{name, b, 0o755})
	}
	return out, nil
}

// stageInfo writes the files under stage for nfpm, which packs from paths.
func stageInfo(stage string, l layout) (*nfpm.Info, error) {
	write := func(f stagedFile) (string, error) {
		p := filepath.Join(stage, filepath.FromSlash(strings.TrimPrefix(f.name, "/")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("stage %s: %w", f.name, err)
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return "", fmt.Errorf("stage %s: %w", f.name, err)
		}
		return p, nil
	}
	c := l.control
	mtime := time.Unix(c.MTime, 0).UTC()
	var contents files.Contents
	for _, f := range l.payload {
		src, err := write(f)
		if err != nil {
			return nil, err
		}
		contents = append(contents, &files.Content{
			Source: src, Destination: f.name, Type: files.TypeFile,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: f.mode, MTime: mtime},
		})
	}
	for _, d := range c.Dirs {
		contents = append(contents, &files.Content{
			Destination: d, Type: files.TypeDir,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: mtime},
		})
	}
	scriptPath := map[string]string{}
	for _, f := range l.ctrl {
		src, err := write(stagedFile{"/DEBIAN/" + f.name, f.data, f.mode})
		if err != nil {
			return nil, err
		}
		scriptPath[f.name] = src
	}
	return &nfpm.Info{
		Name:          c.Name,
		Arch:          c.Arch,
		Platform:      "linux",
		Version:       c.Version,
		VersionSchema: "none",
		Section:       c.Section,
		Priority:      c.Priority,
		Maintainer:    c.Maintainer,
		Description:   c.Description,
		MTime:         mtime,
		Overridables: nfpm.Overridables{
			Depends:  c.Depends,
			Contents: contents,
			Umask:    0o022,
			Scripts: nfpm.Scripts{
				PostInstall: scriptPath["postinst"],
				PreRemove:   scriptPath["prerm"],
				PostRemove:  scriptPath["postrm"],
			},
			Deb: nfpm.Deb{Compression: c.Compression},
		},
		DisableGlobbing: true,
	}, nil
}
