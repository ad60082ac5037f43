package sshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"counter/internal/testutil"
	"counter/provisioning/sshx/sshxtest"
)

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{"jump-host", Params{JumpHost: true}},
		{"replica", Params{JumpHost: false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Render(tc.p)
			if again := Render(tc.p); string(again) != string(got) {
				t.Fatalf("Render(%+v) differs between two calls", tc.p)
			}
			testutil.Golden(t, filepath.Join("testdata", tc.name+".conf"), got)
		})
	}
}

// sshdConfig is a main configuration like Debian's, in a temporary
// directory: its own host key, and drop-ins from dir/d/*.conf read first.
type sshdConfig struct {
	dir, main string
}

func newSSHDConfig(t *testing.T) sshdConfig {
	t.Helper()
	if _, err := os.Stat(sshdBin); err != nil {
		t.Skipf("SKIP: %s missing (Debian: apt-get install openssh-server): %v", sshdBin, err)
	}
	sshxtest.NeedPrivsepDir(t)
	dir := t.TempDir()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	c := sshdConfig{dir: dir, main: filepath.Join(dir, "sshd_config")}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	testutil.WriteFile(t, hostKey, pem.EncodeToMemory(block), 0o600)
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	// As in Debian's sshd_config: the Include comes first, then settings
	// the drop-ins must win over.
	testutil.WriteFile(t, c.main, []byte("Include "+filepath.Join(dir, "d", "*.conf")+"\n"+
		"HostKey "+hostKey+"\n"+
		"KbdInteractiveAuthentication yes\nPasswordAuthentication yes\nX11Forwarding yes\n"), 0o644)
	return c
}

func (c sshdConfig) dropIn(t *testing.T, name string, content []byte) {
	t.Helper()
	testutil.WriteFile(t, filepath.Join(c.dir, "d", name), content, DropInMode)
}

// sshd runs Debian's sshd with args and the test's main config.
func (c sshdConfig) sshd(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, sshdBin, append(args, "-f", c.main)...).CombinedOutput()
}

// TestSSHDAcceptsDropIn: Debian's sshd takes the drop-in, and sshd -T shows
// its values won over the main file's.
func TestSSHDAcceptsDropIn(t *testing.T) {
	for _, p := range []Params{{JumpHost: true}, {JumpHost: false}} {
		c := newSSHDConfig(t)
		c.dropIn(t, filepath.Base(DropInPath), Render(p))
		if out, err := c.sshd("-t"); err != nil {
			t.Fatalf("sshd -t with the drop-in (%+v): %v\n%s", p, err, out)
		}
		out, err := c.sshd("-T")
		if err != nil {
			t.Fatalf("sshd -T: %v\n%s", err, out)
		}
		if err := CheckEffective(out, p); err != nil {
			t.Errorf("CheckEffective(%+v): %v", p, err)
		}
		// The other role's forwarding setting must not pass: the check reads.
		if err := CheckEffective(out, Params{JumpHost: !p.JumpHost}); !errors.Is(err, ErrShadowed) {
			t.Errorf("CheckEffective(JumpHost: %v) on a %+v config = %v, want ErrShadowed", !p.JumpHost, p, err)
		}
	}
}

// TestSSHDRejectsBrokenDropIn: a drop-in with a typo fails sshd -t, so the
// step restores the old drop-in and never reloads.
func TestSSHDRejectsBrokenDropIn(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unknown keyword", "PasswordAuthentcation no\n", "Bad configuration option"},
		{"bad value", "PermitRootLogin maybe\n", "unsupported option"},
		{"bad number", "MaxAuthTries three\n", "integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newSSHDConfig(t)
			c.dropIn(t, filepath.Base(DropInPath), append(Render(Params{}), tc.content...))
			out, err := c.sshd("-t")
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("sshd -t with %q = %v, %q; want a failure saying %q", tc.content, err, out, tc.want)
			}
		})
	}
}

// TestCheckEffectiveSeesShadowing: a drop-in that sorts earlier and turns
// passwords back on makes CheckEffective fail, though sshd -t passes.
func TestCheckEffectiveSeesShadowing(t *testing.T) {
	c := newSSHDConfig(t)
	c.dropIn(t, "05-admin.conf", []byte("PasswordAuthentication yes\n"))
	c.dropIn(t, filepath.Base(DropInPath), Render(Params{JumpHost: true}))
	if out, err := c.sshd("-t"); err != nil {
		t.Fatalf("sshd -t: %v\n%s", err, out)
	}
	out, err := c.sshd("-T")
	if err != nil {
		t.Fatalf("sshd -T: %v\n%s", err, out)
	}
	err = CheckEffective(out, Params{JumpHost: true})
	if !errors.Is(err, ErrShadowed) || !strings.Contains(err.Error(), `PasswordAuthentication is "yes"`) {
		t.Errorf("CheckEffective = %v, want ErrShadowed naming PasswordAuthentication", err)
	}
}

func TestCheckEffectiveRejectsGarbage(t *testing.T) {
	for _, out := range []string{"", "sshd: no hostkeys available -- exiting.\n"} {
		if err := CheckEffective([]byte(out), Params{}); err == nil || errors.Is(err, ErrShadowed) {
			t.Errorf("CheckEffective(%q) = %v, want a parse error", out, err)
		}
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"validate", ValidateArgv(), "/usr/sbin/sshd -t -f /etc/ssh/sshd_config"},
		{"effective", EffectiveArgv(), "/usr/sbin/sshd -T -f /etc/ssh/sshd_config"},
		{"reload", ReloadArgv(), "systemctl reload ssh.service"},
	}
	for _, tc := range tests {
		if got := strings.Join(tc.got, " "); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, got, tc.want)
		}
	}
}
