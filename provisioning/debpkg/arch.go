package debpkg

import (
	"fmt"
	"strings"
)

// Target is one node architecture, in Debian's and Go's names.
type Target struct {
	DebArch string // as dpkg --print-architecture says: amd64, arm64, armhf, ...
	GOARCH  string
	GOARM   string // only for GOARCH=arm
}

// ParseArch maps the output of `dpkg --print-architecture` or `uname -m` on a
// node to the Target to build for. Only Debian 12's release architectures
// that Go supports are known.
func ParseArch(s string) (Target, error) {
	switch name := strings.TrimSpace(s); name {
	case "amd64", "x86_64":
		return Target{DebArch: "amd64", GOARCH: "amd64"}, nil
	case "arm64", "aarch64":
		return Target{DebArch: "arm64", GOARCH: "arm64"}, nil
	case "armhf", "armv7l":
		// Pinned: left unset, GOARM would follow the build host.
		return Target{DebArch: "armhf", GOARCH: "arm", GOARM: "7"}, nil
	case "i386", "i686":
		return Target{DebArch: "i386", GOARCH: "386"}, nil
	case "ppc64el", "ppc64le":
		return Target{DebArch: "ppc64el", GOARCH: "ppc64le"}, nil
	case "s390x":
		return Target{DebArch: "s390x", GOARCH: "s390x"}, nil
	default:
		return Target{}, fmt.Errorf("architecture %q: not supported (want amd64, arm64, armhf, i386, ppc64el or s390x, or their uname -m names)", name)
	}
}

// String is the Debian name, as used in package file names.
func (t Target) String() string { return t.DebArch }
