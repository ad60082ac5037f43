package sshx

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"counter/internal/testutil"
	"counter/provisioning/sshx/sshxtest"
)

func TestWriteFileAndReadFile(t *testing.T) {
	testutil.NeedRoot(t, "WriteFile chowns to root")
	tests := []struct {
		name string
		user string // root writes via SFTP + rename; others via /tmp + sudo install + mv
	}{
		{"as root", "root"},
		{"through sudo", "deploy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			srv := sshxtest.NewServer(t, f.pub, sshxtest.WithPath(fakeSudo(t, sudoPassthrough)))
			f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
			cfg := f.config()
			cfg.User = tt.user
			c := mustDial(t, srv.Addr, cfg)
			ctx := context.Background()
			dir := t.TempDir()
			target := filepath.Join(dir, "redis.conf")
			tmpBefore, _ := filepath.Glob("/tmp/.ctr-*")

			if b, ok, err := c.ReadFile(ctx, target); err != nil || ok || b != nil {
				t.Fatalf("ReadFile(missing) = %q, %v, %v; want nil, false, nil", b, ok, err)
			}
			first := []byte("port 6379\n")
			if err := c.WriteFile(ctx, target, first, 0o644, "", ""); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			checkFile(t, target, first, 0o644)

			// Hold the old file open: an atomic replace leaves it intact.
			old, err := os.Open(target)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			second := []byte("requirepass is read from a file; 'quotes' $(and) `such`\n")
			if err := c.WriteFile(ctx, target, second, 0o600, "root", "root"); err != nil {
				t.Fatalf("WriteFile (replace): %v", err)
			}
			checkFile(t, target, second, 0o600)
			if b, _ := io.ReadAll(old); !bytes.Equal(b, first) {
				t.Errorf("the old file changed under an open reader: %q; want a rename, not a rewrite", b)
			}

			b, ok, err := c.ReadFile(ctx, target)
			if err != nil || !ok || !bytes.Equal(b, second) {
				t.Fatalf("ReadFile = %q, %v, %v; want %q, true", b, ok, err, second)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("%s holds %v; staging leftovers remain", dir, names)
			}
			if after, _ := filepath.Glob("/tmp/.ctr-*"); len(after) != len(tmpBefore) {
				t.Errorf("staging dirs in /tmp: before %v, after %v", tmpBefore, after)
			}
		})
	}
}

func TestWriteFileErrors(t *testing.T) {
	testutil.NeedRoot(t, "WriteFile chowns to root")
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub)
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	c := mustDial(t, srv.Addr, f.config())
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name, path, owner, want string
	}{
		{"relative path", "etc/x", "root", "path must be absolute"},
		{"missing directory", filepath.Join(dir, "nope", "x"), "root", "staging dir"},
		{"unknown owner", filepath.Join(dir, "x"), "no-such-user-ctr", "chown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.WriteFile(ctx, tt.path, []byte("x"), 0o644, tt.owner, "root")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WriteFile(%q) = %v, want an error containing %q", tt.path, err, tt.want)
			}
			if _, err := os.Stat(tt.path); err == nil {
				t.Errorf("%s was created despite the error", tt.path)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %d entries in %s", len(entries), dir)
	}
}

func checkFile(t *testing.T, path string, want []byte, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s mode = %v, want %v", path, fi.Mode().Perm(), mode)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
		t.Errorf("%s owned by %d:%d, want root:root", path, st.Uid, st.Gid)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, want) {
		t.Errorf("%s = %q, want %q", path, b, want)
	}
}
