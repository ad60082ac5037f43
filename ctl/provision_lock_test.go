//go:build !node

package ctl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"counter/provisioning/host"
	"counter/provisioning/sshx"
)

func TestRunLock(t *testing.T) {
	inv, _ := sshLab(t, map[string]string{"master": "master"})
	conn := host.NewConnector(inv, host.ConnectOptions{})
	defer conn.Close()
	c, err := conn.Client(context.Background(), inv.Master())
	if err != nil {
		t.Fatal(err)
	}
	clients := []*sshx.Client{c}
	dir := filepath.Join(t.TempDir(), "lock")
	a := runLock{dir: dir, ttl: time.Hour, owner: "alice@admin pid 1"}
	b := runLock{dir: dir, ttl: time.Hour, owner: "bob@admin pid 2"}
	ctx := context.Background()

	if errs := a.acquire(ctx, clients); errs[0] != nil {
		t.Fatalf("first lock: %v", errs[0])
	}
	errs := b.acquire(ctx, clients)
	// The age is in whole seconds of the node's clock, so it says 1s when
	// a second turns between the two runs (CI saw it), or more on a slow
	// machine.
	if !errors.Is(errs[0], errLocked) || !regexp.MustCompile(`alice@admin pid 1 \(for [0-9]+s\)`).MatchString(errs[0].Error()) {
		t.Errorf("second run: %v; want it refused, naming the holder and its age", errs[0])
	}
	b.release(clients, []error{nil}) // not bob's: must stay
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("bob's release removed alice's lock: %v", err)
	}
	a.release(clients, []error{nil})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after alice's release the lock is still there: %v", err)
	}

	// A lock older than the ttl belongs to a run that died: taken over.
	if errs := a.acquire(ctx, clients); errs[0] != nil {
		t.Fatal(errs[0])
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	if errs := b.acquire(ctx, clients); errs[0] != nil {
		t.Errorf("taking over a stale lock: %v", errs[0])
	}
	if owner, _ := os.ReadFile(filepath.Join(dir, "owner")); string(owner) != b.owner+"\n" {
		t.Errorf("owner after takeover = %q, want bob", owner)
	}
}
