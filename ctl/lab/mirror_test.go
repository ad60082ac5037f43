package lab

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestHostMirror(t *testing.T) {
	tests := []struct {
		name        string
		root        string
		wantArchive string
		wantList    string
		wantErr     string
	}{
		{
			name:        "deb822 with a third-party source",
			root:        "deb822",
			wantArchive: "http://mirror.example.net/debian",
			wantList: `deb http://mirror.example.net/debian bookworm main contrib
deb http://mirror.example.net/debian bookworm-updates main contrib
deb http://security.example.net/debian-security bookworm-security main
`,
		},
		{
			name:        "one-line format, deb-src and other releases skipped",
			root:        "oneline",
			wantArchive: "http://mirror.example.net/debian",
			wantList: `deb http://mirror.example.net/debian bookworm main non-free-firmware
deb http://security.example.net/debian-security bookworm-security main
`,
		},
		{name: "only a third-party source", root: "thirdparty-only", wantErr: "no Debian bookworm source"},
		{name: "Debian source disabled", root: "disabled", wantErr: "no Debian bookworm source"},
		{name: "no sources at all", root: "missing", wantErr: "no Debian bookworm source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := HostMirror(filepath.Join("testdata", "apt", tt.root))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("HostMirror(%s) error = %v, want one containing %q", tt.root, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("HostMirror(%s) = %v", tt.root, err)
			}
			if m.Archive != tt.wantArchive {
				t.Errorf("Archive = %q, want %q", m.Archive, tt.wantArchive)
			}
			got := strings.TrimPrefix(m.SourcesList(), "# Written by counterctl lab from the host's APT sources.\n")
			if got != tt.wantList {
				t.Errorf("SourcesList() =\n%s\nwant\n%s", got, tt.wantList)
			}
		})
	}
}

func TestParseDeb822Errors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"continuation first", " URIs: x\n", "line 1: continuation"},
		{"no colon", "Types deb\n", "line 1: want"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDeb822(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseDeb822(%q) error = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}
