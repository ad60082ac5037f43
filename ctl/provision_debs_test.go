//go:build !node

package ctl

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrebuiltDebs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"counter_1.2.0+sha256.0123456789ab_amd64.deb", "counter_1.1.0_arm64.deb", "counter_1.2.0_arm64.deb"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := debOptions{dir: dir}.source(io.Discard, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, arch, wantVersion, wantErr string
	}{
		{"one package", "amd64", "1.2.0+sha256.0123456789ab", ""},
		{"two for one arch", "arm64", "", "want exactly one counter_*_arm64.deb in " + dir + ", found 2"},
		{"none", "riscv64", "", "found 0"},
	}
	for _, tt := range tests {
		deb, err := src.Package(context.Background(), tt.arch)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case deb.Version != tt.wantVersion || deb.Arch != tt.arch || string(deb.Data) != deb.FileName:
			t.Errorf("%s: got %s %s %s, want version %s", tt.name, deb.FileName, deb.Version, deb.Arch, tt.wantVersion)
		}
	}
}

func TestNoSourceNoDebs(t *testing.T) {
	src := &debSource{opts: debOptions{}}
	if _, err := src.Package(context.Background(), "amd64"); err == nil || !strings.Contains(err.Error(), "--deb-dir") {
		t.Errorf("err = %v, want advice to pass --source or --deb-dir", err)
	}
}
