package debpkg

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// Built is a package and its bytes, ready to upload.
type Built struct {
	Package
	Data []byte
}

// Source builds the counter package for each node architecture a
// provisioning run meets, once per architecture, however many nodes ask
// at the same time.
type Source struct {
	Compiler   Compiler
	Version    string                                          // build version stamped into the programs
	Maintainer string                                          // "Full Name <address>"
	MTime      time.Time                                       // see Spec.MTime
	ManPages   func(date time.Time) (map[string][]byte, error) // see Spec.ManPages

	mu    sync.Mutex // held while building: one go build at a time
	built map[string]Built
}

// Package returns the package for arch, as `dpkg --print-architecture` or
// `uname -m` on the node prints it.
func (s *Source) Package(ctx context.Context, arch string) (Built, error) {
	t, err := ParseArch(arch)
	if err != nil {
		return Built{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.built[t.DebArch]; ok {
		return b, nil
	}
	if err := ctx.Err(); err != nil {
		return Built{}, err
	}
	bins, err := s.Compiler.Build(ctx, s.Version, t)
	if err != nil {
		return Built{}, err
	}
	var buf bytes.Buffer
	p, err := Build(Spec{
		Version: s.Version, Arch: t.DebArch,
		CounterdBinary: bins.Counterd, CounterctlBinary: bins.Counterctl,
		Maintainer: s.Maintainer, MTime: s.MTime, ManPages: s.ManPages,
	}, &buf)
	if err != nil {
		return Built{}, fmt.Errorf("counter package for %s: %w", t.DebArch, err)
	}
	if s.built == nil {
		s.built = map[string]Built{}
	}
	b := Built{Package: p, Data: buf.Bytes()}
	s.built[t.DebArch] = b
	return b, nil
}
