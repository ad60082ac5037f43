package debpkg

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// upstreamVersion is Debian policy's upstream_version without the "-"
// (which would start a Debian revision) and "+" (which the content hash adds).
var upstreamVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.~]*$`)

// UpstreamVersion turns a build version (buildinfo's "v1.2.3", "v1.2.0-rc.1",
// "dev", "dev-0123456789ab") into Debian's upstream_version: a leading v is
// dropped, a semver pre-release sorts before its release with "~", and a
// version without a leading digit sorts before every release as "0~...".
func UpstreamVersion(v string) (string, error) {
	s := strings.TrimPrefix(v, "v")
	if core, pre, ok := strings.Cut(s, "-"); ok && core != "" && core[0] >= '0' && core[0] <= '9' {
		s = core + "~" + pre
	}
	s = strings.ReplaceAll(s, "-", ".")
	if s != "" && (s[0] < '0' || s[0] > '9') {
		s = "0~" + s
	}
	if !upstreamVersion.MatchString(s) {
		return "", fmt.Errorf("version %q: not usable in a Debian version (want e.g. v1.2.3)", v)
	}
	return s, nil
}

// contentHash is 12 hex digits of a SHA-256 over every file the package
// ships and its maintainer scripts, each framed by name and length so that
// moving bytes between files changes the hash.
func contentHash(files []stagedFile) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range files {
		binary.BigEndian.PutUint64(n[:], uint64(len(f.name)))
		h.Write(n[:])
		h.Write([]byte(f.name))
		binary.BigEndian.PutUint64(n[:], uint64(len(f.data)))
		h.Write(n[:])
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
