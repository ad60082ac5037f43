package sshx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"counter/internal/testutil"
)

// testUser creates a throwaway login user (prefix ctr-) with pub in its
// authorized_keys and the given sudoers rule, removed again on cleanup.
func testUser(t *testing.T, prefix string, pub ssh.PublicKey, sudoers string) string {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/useradd", "/usr/bin/sudo"} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("SKIPPED: %s missing (apt-get install passwd sudo); the real-sudo proof did not run", bin)
		}
	}
	name := prefix + testutil.RandHex(t, 3)
	run := func(argv ...string) {
		t.Helper()
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
	}
	// -p '*': no password, but not "locked", which sshd without PAM refuses.
	run("useradd", "--create-home", "--shell", "/bin/sh", "--password", "*", name)
	sudoersFile := filepath.Join("/etc/sudoers.d", name)
	t.Cleanup(func() {
		os.Remove(sudoersFile)
		exec.Command("userdel", "--remove", name).Run()
	})
	home := filepath.Join("/home", name)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	run("chown", "-R", name+":"+name, filepath.Join(home, ".ssh"))
	if err := os.WriteFile(sudoersFile, []byte(name+" "+sudoers+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	run("visudo", "-cf", sudoersFile)
	return name
}

// TestRealSudo proves the non-root path on Debian's sshd and sudo: every
// command through `sudo -n --`, files staged in /tmp and installed as root,
// and a clear error when sudo wants a password.
func TestRealSudo(t *testing.T) {
	f := newFixture(t)
	addr, hostKey := realSSHD(t, f.pub)
	f.trust(t, addr, hostKey)
	ctx := context.Background()

	t.Run("passwordless sudo", func(t *testing.T) {
		cfg := f.config()
		cfg.User = testUser(t, "ctr-sudo-", f.pub, "ALL=(ALL:ALL) NOPASSWD: ALL")
		c := mustDial(t, addr, cfg)
		out, err := c.Run(ctx, []string{"id", "-u"}, RunOptions{})
		if err != nil || string(out.Stdout) != "0\n" {
			t.Fatalf("Run(id -u) as %s = %q, %v; want 0 through sudo", cfg.User, out.Stdout, err)
		}
		arg := "it's $(not) run; `at` all"
		if out, err := c.Run(ctx, []string{"printf", "%s", arg}, RunOptions{}); err != nil || string(out.Stdout) != arg {
			t.Fatalf("Run(printf) through sudo = %q, %v", out.Stdout, err)
		}
		target := filepath.Join(t.TempDir(), "root-only.conf") // in a 0700 root directory
		data := []byte("requirepass from a file\n")
		if err := c.WriteFile(ctx, target, data, 0o640, "root", "root"); err != nil {
			t.Fatalf("WriteFile through sudo: %v", err)
		}
		checkFile(t, target, data, 0o640)
		got, ok, err := c.ReadFile(ctx, target)
		if err != nil || !ok || !bytes.Equal(got, data) {
			t.Fatalf("ReadFile through sudo = %q, %v, %v", got, ok, err)
		}
		if _, ok, err := c.ReadFile(ctx, target+".missing"); ok || err != nil {
			t.Fatalf("ReadFile(missing) through sudo = %v, %v; want false, nil", ok, err)
		}
		checkCancelKills(t, c, t.TempDir(), 3*time.Second)
	})

	t.Run("sudo wants a password", func(t *testing.T) {
		cfg := f.config()
		cfg.User = testUser(t, "ctr-pw-", f.pub, "ALL=(ALL:ALL) ALL")
		c := mustDial(t, addr, cfg)
		_, err := c.Run(ctx, []string{"true"}, RunOptions{})
		if !errors.Is(err, ErrSudoPassword) {
			t.Fatalf("Run as %s = %v, want ErrSudoPassword", cfg.User, err)
		}
	})
}
