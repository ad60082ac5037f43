package sshxtest

import (
	"os"
	"testing"
)

// PrivsepDir is where Debian's sshd wants its privilege separation
// directory; sshd -t, -T and a running sshd all refuse to work without it.
const PrivsepDir = "/run/sshd"

// NeedPrivsepDir makes PrivsepDir for a test that runs Debian's sshd.
// ssh.service creates it when it starts, so a machine where the service
// never ran (CI installs packages under policy-rc.d) lacks it. It skips tb
// when not root, and fails it when root cannot make the directory.
//
// The directory is left in place: /run is a tmpfs, the directory is the one
// ssh.service would make, and another package's test may be running sshd
// at the same time (go test runs packages in parallel), whose connections
// would fail if it were removed under them.
func NeedPrivsepDir(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(PrivsepDir); err == nil {
		return
	}
	if os.Geteuid() != 0 {
		tb.Skipf("SKIPPING: sshd needs %s, which only root can make", PrivsepDir)
	}
	if err := os.MkdirAll(PrivsepDir, 0o755); err != nil {
		tb.Fatalf("make %s for sshd: %v", PrivsepDir, err)
	}
}
