package raid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Source is everything Check reads from a node. Tests feed it recorded
// outputs; HostSource reads the real machine.
type Source interface {
	// ReadFile returns a file's contents; a missing file is an fs.ErrNotExist.
	ReadFile(name string) ([]byte, error)
	// Run executes the program at path with args (no shell) and returns its
	// standard output; it fails on a non-zero exit or when timeout elapses.
	Run(ctx context.Context, timeout time.Duration, path string, args ...string) ([]byte, error)
	// LookPath finds an installed program; a missing one is an exec.ErrNotFound.
	LookPath(name string) (string, error)
}

// vendorDirs are where the vendors' packages install their tools, off PATH.
var vendorDirs = []string{
	"/opt/MegaRAID/storcli",
	"/opt/MegaRAID/MegaCli",
	"/opt/smartstorageadmin/ssacli/bin",
}

// maxOutput bounds what one tool may print before we stop reading it.
const maxOutput = 32 << 20

// HostSource reads this machine through os and os/exec.
type HostSource struct {
	// Mdstat is read in place of MdstatPath when set, so a test can give a
	// host with md RAID a list of its own (or none) and run anywhere.
	Mdstat string
}

var _ Source = HostSource{}

// ReadFile reads name from the local file system.
func (h HostSource) ReadFile(name string) ([]byte, error) {
	if name == MdstatPath && h.Mdstat != "" {
		name = h.Mdstat
	}
	return os.ReadFile(name)
}

// LookPath searches PATH and then the vendors' install directories.
func (HostSource) LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range vendorDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("look up %s: %w", name, exec.ErrNotFound)
}

// Run starts path with args in the C locale and waits at most timeout.
func (HostSource) Run(ctx context.Context, timeout time.Duration, path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	// Parsers match English words; vendor tools translate nothing, mdadm might.
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	// A tool that forks a child holding our pipe must not keep us waiting.
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("%s: no answer within %s", cmdline(path, args), timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = lastLine(stdout.String())
		}
		if msg != "" {
			return stdout.Bytes(), fmt.Errorf("%s: %w: %s", cmdline(path, args), err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w", cmdline(path, args), err)
	}
	if stdout.truncated {
		return nil, fmt.Errorf("%s: output larger than %d bytes", cmdline(path, args), maxOutput)
	}
	return stdout.Bytes(), nil
}

func cmdline(path string, args []string) string {
	return strings.Join(append([]string{filepath.Base(path)}, args...), " ")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// limitedBuffer keeps the first max bytes written and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max       int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.truncated = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
