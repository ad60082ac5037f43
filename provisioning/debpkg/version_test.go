package debpkg

import (
	"os/exec"
	"strings"
	"testing"

	"counter/internal/testutil"
)

func TestUpstreamVersion(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "release", in: "v1.2.3", want: "1.2.3"},
		{name: "without v", in: "0.1.0", want: "0.1.0"},
		{name: "pre-release sorts first", in: "v1.2.0-rc.1", want: "1.2.0~rc.1"},
		{name: "dev build", in: "dev", want: "0~dev"},
		{name: "dev with revision", in: "dev-0123456789ab", want: "0~dev.0123456789ab"},
		{name: "build metadata is ours", in: "v1.2.3+meta", wantErr: "not usable"},
		{name: "space", in: "1.2 3", wantErr: "not usable"},
		{name: "empty", in: "", wantErr: "not usable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UpstreamVersion(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("UpstreamVersion(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("UpstreamVersion(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestUpstreamVersionOrder asks dpkg itself that the mapping keeps the order
// an admin expects, so apt never sees an upgrade as a downgrade.
func TestUpstreamVersionOrder(t *testing.T) {
	testutil.NeedTool(t, "dpkg", "dpkg")
	tests := []struct{ name, lower, higher string }{
		{"dev before any release", "dev-0123456789ab", "v0.0.1"},
		{"rc before its release", "v1.2.0-rc.1", "v1.2.0"},
		{"release before the next", "v1.2.0", "v1.10.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, err := UpstreamVersion(tt.lower)
			if err != nil {
				t.Fatal(err)
			}
			hi, err := UpstreamVersion(tt.higher)
			if err != nil {
				t.Fatal(err)
			}
			// The content hash suffix must not change the order either.
			lo += "+sha256.ffffffffffff"
			hi += "+sha256.000000000000"
			if err := exec.Command("dpkg", "--compare-versions", lo, "lt", hi).Run(); err != nil {
				t.Errorf("dpkg --compare-versions %s lt %s: %v", lo, hi, err)
			}
		})
	}
}
