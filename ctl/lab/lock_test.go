package lab

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestDownWithoutLabLeavesNoLock: `lab down` (or any command) where no lab
// is up must not leave the lock file, nor the state directory it made for it.
func TestDownWithoutLabLeavesNoLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l := &Lab{StateDir: dir, Out: io.Discard}
	if err := l.Down(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		left, _ := os.ReadDir(dir)
		t.Errorf("after lab down with no lab, %s exists (%v, holding %v); want it gone", dir, err, left)
	}
	// A state directory the admin made stays, without a lock in it.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.Down(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
		t.Errorf("after lab down in an existing empty dir: %v, %v; want the dir, empty", left, err)
	}
}
