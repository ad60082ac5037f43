//go:build !node

package ctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"counter/internal/buildinfo"
	"counter/provisioning/debpkg"
	"counter/provisioning/steps"
)

// debOptions say where the counter .deb for a node comes from.
type debOptions struct {
	dir        string // prebuilt counter_<version>_<arch>.deb files
	sourceDir  string // the counter module, to build from
	cacheDir   string
	maintainer string
}

func (o *debOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.dir, "deb-dir", "", "`directory` with prebuilt counter_<version>_<arch>.deb packages")
	f.StringVar(&o.sourceDir, "source", "", "counter source `directory` to build the .deb from (default: the module around the working directory)")
	f.StringVar(&o.cacheDir, "cache-dir", "", "where the binaries and .debs built for the nodes are kept (default: the user cache directory)")
	f.StringVar(&o.maintainer, "maintainer", "counter operators <root@localhost>", "Maintainer of the built .deb, \"Name <address>\"")
}

// debSource hands out one .deb per architecture: read from --deb-dir, or
// built from the source tree by debpkg.Source, once per run.
type debSource struct {
	opts     debOptions
	build    *debpkg.Source
	out      io.Writer // a line per package built, for the run's output
	now      func() time.Time
	mu       sync.Mutex
	byArch   map[string]*debResult
	reported map[string]bool // archs whose build was reported
}

type debResult struct {
	once sync.Once
	deb  steps.Deb
	err  error
}

// source reports each package it builds to out.
func (o debOptions) source(out io.Writer, now func() time.Time) (*debSource, error) {
	if o.dir == "" && o.sourceDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		o.sourceDir = findModule(wd)
	}
	if o.cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("cache directory: %w (use --cache-dir)", err)
		}
		o.cacheDir = filepath.Join(base, "counterctl")
	}
	return &debSource{opts: o, out: out, now: now, byArch: map[string]*debResult{}, reported: map[string]bool{}, build: &debpkg.Source{
		Compiler:   debpkg.Compiler{ModuleDir: o.sourceDir, CacheDir: filepath.Join(o.cacheDir, "bin")},
		Version:    buildinfo.String(),
		Maintainer: o.maintainer,
		ManPages:   ManPages,
		CacheDir:   filepath.Join(o.cacheDir, "deb"),
	}}, nil
}

// findModule returns the nearest directory at or above dir whose go.mod
// declares module counter, or "".
func findModule(dir string) string {
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if strings.TrimSpace(first) == "module counter" {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Package returns the .deb for arch, reading or building it on first use.
func (s *debSource) Package(ctx context.Context, arch string) (steps.Deb, error) {
	if s.opts.dir == "" {
		if s.opts.sourceDir == "" {
			return steps.Deb{}, fmt.Errorf("no counter source here to build the %s package from: run from the source tree, or pass --source or --deb-dir", arch)
		}
		return s.fromSource(ctx, arch)
	}
	s.mu.Lock()
	r, ok := s.byArch[arch]
	if !ok {
		r = &debResult{}
		s.byArch[arch] = r
	}
	s.mu.Unlock()
	r.once.Do(func() { r.deb, r.err = s.prebuilt(arch) })
	return r.deb, r.err
}

// fromSource builds (or reuses) the package and says so once per arch:
// the build is part of a run's time.
func (s *debSource) fromSource(ctx context.Context, arch string) (steps.Deb, error) {
	start := s.now()
	b, err := s.build.Package(ctx, arch)
	if err != nil {
		return steps.Deb{}, err
	}
	s.mu.Lock()
	first := !s.reported[b.Arch]
	s.reported[b.Arch] = true
	s.mu.Unlock()
	if first {
		how := "packed"
		if b.FromCache {
			how = "packed before, taken from the cache"
		}
		fmt.Fprintf(s.out, "counter package %s (%s, %.1f MB): go build and %s in %s\n",
			b.Version, b.Arch, float64(len(b.Data))/1e6, how, s.now().Sub(start).Round(100*time.Millisecond))
	}
	return steps.Deb{Version: b.Version, Arch: b.Arch, FileName: b.FileName, Data: b.Data}, nil
}

func (s *debSource) prebuilt(arch string) (steps.Deb, error) {
	matches, err := filepath.Glob(filepath.Join(s.opts.dir, debpkg.Name+"_*_"+arch+".deb"))
	if err != nil {
		return steps.Deb{}, err
	}
	if len(matches) != 1 {
		return steps.Deb{}, fmt.Errorf("want exactly one %s_*_%s.deb in %s, found %d", debpkg.Name, arch, s.opts.dir, len(matches))
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		return steps.Deb{}, err
	}
	name := filepath.Base(matches[0])
	version := strings.TrimSuffix(strings.TrimPrefix(name, debpkg.Name+"_"), "_"+arch+".deb")
	return steps.Deb{Version: version, Arch: arch, FileName: name, Data: data}, nil
}

// localDebArch is this machine's architecture in Debian's words.
func localDebArch() string {
	switch runtime.GOARCH {
	case "arm":
		return "armhf"
	case "386":
		return "i386"
	case "ppc64le":
		return "ppc64el"
	}
	return runtime.GOARCH
}
