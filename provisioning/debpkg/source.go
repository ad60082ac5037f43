package debpkg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Built is a package and its bytes, ready to upload.
type Built struct {
	Package
	Data []byte
	// FromCache says the bytes came from Source.CacheDir, not a new packing.
	FromCache bool
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
	// CacheDir keeps packed .debs named by a hash of all their inputs, so
	// a later run with the same inputs reuses the bytes; empty: no cache.
	CacheDir string

	mu    sync.Mutex // held while building: one go build at a time
	built map[string]Built
	cache *debCache
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
	l, err := plan(Spec{
		Version: s.Version, Arch: t.DebArch,
		CounterdBinary: bins.Counterd, CounterctlBinary: bins.Counterctl,
		Maintainer: s.Maintainer, MTime: s.MTime, ManPages: s.ManPages,
	})
	if err != nil {
		return Built{}, fmt.Errorf("counter package for %s: %w", t.DebArch, err)
	}
	b, err := s.packCached(l)
	if err != nil {
		return Built{}, fmt.Errorf("counter package for %s: %w", t.DebArch, err)
	}
	if s.built == nil {
		s.built = map[string]Built{}
	}
	s.built[t.DebArch] = b
	return b, nil
}

// packCached packs l, or takes its bytes from the cache when the same
// inputs were packed before.
func (s *Source) packCached(l layout) (Built, error) {
	if s.CacheDir == "" {
		return pack(l)
	}
	if s.cache == nil {
		s.cache = &debCache{dir: s.CacheDir}
	}
	packer, err := s.cache.self()
	if err != nil {
		return Built{}, err
	}
	key := l.cacheKey(packer)
	data, ok, err := s.cache.get(key)
	if err != nil {
		return Built{}, err
	}
	if ok {
		sum := sha256.Sum256(data)
		return Built{Package: l.describe(hex.EncodeToString(sum[:])), Data: data, FromCache: true}, nil
	}
	b, err := pack(l)
	if err != nil {
		return Built{}, err
	}
	return b, s.cache.put(key, b.Data)
}

func pack(l layout) (Built, error) {
	var buf bytes.Buffer
	p, err := l.pack(&buf)
	if err != nil {
		return Built{}, err
	}
	return Built{Package: p, Data: buf.Bytes()}, nil
}
