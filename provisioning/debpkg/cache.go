package debpkg

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// keepDebs is how many packages the cache keeps: enough for the archs of
// one cluster and a change or two back, while each costs about 15 MB.
const keepDebs = 6

// cacheKey is a SHA-256 over everything a package is packed from: every
// file with its name, mode and bytes, the metadata, and the packing
// program itself (packer), whose code decides the rest of the archive.
func (l layout) cacheKey(packer []byte) string {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field(packer)
	field(fmt.Appendf(nil, "%#v", l.control))
	for _, group := range [][]stagedFile{l.payload, l.ctrl} {
		field(fmt.Appendf(nil, "%d files", len(group)))
		for _, f := range group {
			field([]byte(f.name))
			field(fmt.Appendf(nil, "%o", f.mode))
			field(f.data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// debCache keeps packed .debs in a directory, each named by its cacheKey,
// so a run whose inputs did not change skips the xz compression (tens of
// seconds on a busy machine).
type debCache struct {
	dir string

	once   sync.Once
	packer []byte // hash of the running program; nil if it cannot be read
	err    error
}

// self hashes the running program once: a new counterctl may pack the
// same files differently.
func (c *debCache) self() ([]byte, error) {
	c.once.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			c.err = fmt.Errorf("find the running program: %w", err)
			return
		}
		f, err := os.Open(exe)
		if err != nil {
			c.err = fmt.Errorf("read the running program: %w", err)
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			c.err = fmt.Errorf("read the running program: %w", err)
			return
		}
		c.packer = h.Sum(nil)
	})
	return c.packer, c.err
}

func (c *debCache) path(key string) string { return filepath.Join(c.dir, key+".deb") }

// get returns the cached bytes for key, or ok false if there are none.
func (c *debCache) get(key string) (data []byte, ok bool, err error) {
	p := c.path(key)
	data, err = os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("package cache: %w", err)
	}
	// The modification time records use, for prune.
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return data, true, nil
}

// put stores data under key: complete or not at all, then prunes.
func (c *debCache) put(key string, data []byte) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("package cache: %w", err)
	}
	tmp, err := os.CreateTemp(c.dir, ".deb-")
	if err != nil {
		return fmt.Errorf("package cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.path(key))
	}
	if err != nil {
		return fmt.Errorf("package cache: %w", err)
	}
	return c.prune()
}

// prune removes all but the keepDebs most recently used packages.
func (c *debCache) prune() error {
	paths, err := filepath.Glob(filepath.Join(c.dir, "*.deb"))
	if err != nil || len(paths) <= keepDebs {
		return err
	}
	used := map[string]time.Time{}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			used[p] = fi.ModTime()
		}
	}
	slices.SortFunc(paths, func(a, b string) int { return used[b].Compare(used[a]) })
	for _, p := range paths[keepDebs:] {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("package cache: %w", err)
		}
	}
	return nil
}
