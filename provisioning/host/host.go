// Package host is the vocabulary provisioning steps speak: "ensure this
// package", "ensure this file", "restart if changed". Debian specifics (dpkg,
// apt, systemd) live here, behind intent, and a dry-run view of a host
// reports the changes it would make without making them.
package host

import (
	"context"
	"io/fs"

	"counter/provisioning/sshx"
)

// Host is one machine as steps see it.
type Host interface {
	Name() string
	// DryRun reports whether changes are only described.
	DryRun() bool
	// Query runs a read-only command and returns its stdout; it runs in dry-run too.
	Query(ctx context.Context, argv ...string) ([]byte, error)
	// Exec runs a command that changes the host; in dry-run it is only described.
	Exec(ctx context.Context, what string, argv ...string) (*Change, error)
	// EnsurePackages installs the Debian packages that are missing.
	EnsurePackages(ctx context.Context, names ...string) (*Change, error)
	// EnsureFile makes a file have exactly this content, mode and owner.
	EnsureFile(ctx context.Context, f File) (*Change, error)
	// RestartIfChanged restarts a systemd unit if any of changes is non-nil.
	RestartIfChanged(ctx context.Context, unit string, changes ...*Change) (*Change, error)
}

// Change is one thing an ensure did, or would do in a dry run. A nil
// *Change means the host already was as asked.
type Change struct {
	What string // e.g. "install redis-server", "update /etc/redis/redis.conf"
	Diff string // unified diff for files; empty for secrets
}

// File is the wanted state of one file.
type File struct {
	Path         string
	Content      []byte
	Mode         fs.FileMode
	Owner, Group string // empty means root
	// Secret keeps the content out of diffs and logs.
	Secret bool
}

// Conn is what Remote needs from an SSH connection; *sshx.Client is one.
type Conn interface {
	Run(ctx context.Context, argv []string, opts sshx.RunOptions) (sshx.Output, error)
	ReadFile(ctx context.Context, path string) ([]byte, bool, error)
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode, owner, group string) error
}

var _ Conn = (*sshx.Client)(nil)
