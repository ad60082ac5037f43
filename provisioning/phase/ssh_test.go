package phase

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skeema/knownhosts"

	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/sshx"
	"counter/provisioning/sshx/sshxtest"
)

// TestRunOverSSH is the k0sctl-style end-to-end check on real SSH: a dry run
// changes nothing, the first apply changes, the second apply changes nothing.
func TestRunOverSSH(t *testing.T) {
	testutil.NeedRoot(t, "files are chowned to root")
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	known := filepath.Join(dir, "known_hosts")
	var lines []byte
	var hs []host.Host
	for _, name := range []string{"master", "na"} {
		srv := sshxtest.NewServer(t, pub)
		lines = append(lines, knownhosts.Line([]string{srv.Addr}, srv.HostKeys[0].PublicKey())+"\n"...)
		if err := os.WriteFile(known, lines, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := sshx.Dial(context.Background(), srv.Addr, sshx.Config{User: "root", KeyFile: key, KnownHosts: known, ConnectTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		hs = append(hs, host.NewRemote(name, c))
	}
	// Both "hosts" are this machine, so each writes its own file.
	conf := &step{title: "configure", run: func(ctx context.Context, h host.Host) (Result, error) {
		f, err := h.EnsureFile(ctx, host.File{Path: filepath.Join(dir, h.Name()+".conf"), Content: []byte("role " + h.Name() + "\n"), Mode: 0o644})
		if err != nil {
			return Result{}, err
		}
		r, err := h.RestartIfChanged(ctx, "ctr-none", f)
		return Collect(f, r), err
	}}
	// The restart is only described: there is no such unit on the test machine.
	r := &Runner{Steps: []Step{conf}, Parallel: 2}
	run := func(dry bool) *Report {
		t.Helper()
		r.DryRun = dry
		rep := r.Run(context.Background(), hs[:1], hs[1:])
		return rep
	}

	rep := run(true)
	if err := rep.Err(); err != nil || !rep.Changed() {
		t.Fatalf("dry run: err %v, changed %v; want described changes", err, rep.Changed())
	}
	if _, err := os.Stat(filepath.Join(dir, "master.conf")); err == nil {
		t.Fatal("dry run wrote master.conf")
	}

	// Apply, with the restart replaced by a harmless unit-less check of the change.
	conf.run = func(ctx context.Context, h host.Host) (Result, error) {
		f, err := h.EnsureFile(ctx, host.File{Path: filepath.Join(dir, h.Name()+".conf"), Content: []byte("role " + h.Name() + "\n"), Mode: 0o644})
		return Collect(f), err
	}
	if rep := run(false); rep.Err() != nil || !rep.Changed() {
		t.Fatalf("first apply: err %v, changed %v; want changes", rep.Err(), rep.Changed())
	}
	for _, n := range []string{"master", "na"} {
		if b, err := os.ReadFile(filepath.Join(dir, n+".conf")); err != nil || string(b) != "role "+n+"\n" {
			t.Errorf("%s.conf = %q, %v", n, b, err)
		}
	}
	if rep := run(false); rep.Err() != nil || rep.Changed() {
		t.Fatalf("second apply: err %v, changed %v; want nothing to change", rep.Err(), rep.Changed())
	}
}
