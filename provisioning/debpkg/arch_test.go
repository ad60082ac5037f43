package debpkg

import (
	"strings"
	"testing"
)

func TestParseArch(t *testing.T) {
	tests := []struct {
		name, in string
		want     Target
		wantErr  string
	}{
		{name: "dpkg amd64", in: "amd64\n", want: Target{DebArch: "amd64", GOARCH: "amd64"}},
		{name: "uname x86_64", in: "x86_64", want: Target{DebArch: "amd64", GOARCH: "amd64"}},
		{name: "dpkg arm64", in: "arm64", want: Target{DebArch: "arm64", GOARCH: "arm64"}},
		{name: "uname aarch64", in: "aarch64\n", want: Target{DebArch: "arm64", GOARCH: "arm64"}},
		{name: "dpkg armhf pins GOARM", in: "armhf", want: Target{DebArch: "armhf", GOARCH: "arm", GOARM: "7"}},
		{name: "uname armv7l", in: "armv7l", want: Target{DebArch: "armhf", GOARCH: "arm", GOARM: "7"}},
		{name: "dpkg i386", in: "i386", want: Target{DebArch: "i386", GOARCH: "386"}},
		{name: "uname i686", in: "i686", want: Target{DebArch: "i386", GOARCH: "386"}},
		{name: "dpkg ppc64el", in: "ppc64el", want: Target{DebArch: "ppc64el", GOARCH: "ppc64le"}},
		{name: "uname ppc64le", in: "ppc64le", want: Target{DebArch: "ppc64el", GOARCH: "ppc64le"}},
		{name: "s390x", in: " s390x ", want: Target{DebArch: "s390x", GOARCH: "s390x"}},
		{name: "armel is not built", in: "armel", wantErr: `"armel": not supported`},
		{name: "mips64el is not built", in: "mips64el", wantErr: `"mips64el": not supported`},
		{name: "Go name is not a node's", in: "386", wantErr: `"386": not supported`},
		{name: "empty", in: "", wantErr: `"": not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArch(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseArch(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseArch(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}
