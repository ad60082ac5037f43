// Package testutil is the one home of the helpers every package's tests
// share: a free loopback port, polling with a deadline, golden files with
// one -update flag, and a throwaway CA of the product's own kind. A test
// that needs one of these uses it from here rather than writing another.
package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port can be taken again before the caller binds it: prefer listening on
// ":0" and asking the listener, and use this only for a server that must be
// told its port (redis-server, sshd).
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WriteFile writes data to path with exactly mode (not filtered by the
// umask), or fails tb.
func WriteFile(tb testing.TB, path string, data []byte, mode os.FileMode) {
	tb.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		tb.Fatal(err)
	}
}

// ReadFile returns the contents of path, or fails tb.
func ReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// RandHex returns n random bytes in hex: names that do not collide with a
// parallel test's (users, namespaces, machines) and throwaway passwords.
func RandHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}
