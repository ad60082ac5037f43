package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"counter/internal/testutil"
	"counter/provisioning/sshx/sshxtest"
)

const sshdPath = "/usr/sbin/sshd"

// realSSHD starts Debian's OpenSSH sshd on a free loopback port with its own
// host key and config, authorizing pub for root. It is stopped by pid.
func realSSHD(t testing.TB, pub ssh.PublicKey) (addr string, hostKey ssh.PublicKey) {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("SKIPPED: %s missing (apt-get install openssh-server); the real-sshd proof did not run", sshdPath)
	}
	testutil.NeedRoot(t, "real sshd logs in as root and privseps; the real-sshd proof did not run")
	sshxtest.NeedPrivsepDir(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey(testutil.ReadFile(t, keyFile+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, ssh.MarshalAuthorizedKey(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	config := filepath.Join(dir, "sshd_config")
	conf := strings.Join([]string{
		"ListenAddress 127.0.0.1:" + strconv.Itoa(port),
		"HostKey " + keyFile,
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		// Root's key from the temp dir; other users' (sudo tests) from their homes.
		"AuthorizedKeysFile " + authorized + " .ssh/authorized_keys",
		"StrictModes no", // t.TempDir's parents are not root-only
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"Subsystem sftp /usr/lib/openssh/sftp-server",
		"LogLevel VERBOSE",
		"",
	}, "\n")
	if err := os.WriteFile(config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testutil.Buffer // sshd writes while a failure reads
	// -D: stay in the foreground so this pid is the one to stop; -e: log to stderr.
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", config)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err) // it is installed and we are root: it must start
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", logs.String())
		}
	})
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	err = testutil.Wait(10*time.Second, func(ctx context.Context) error {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			return testutil.Stop(fmt.Errorf("sshd exited: %v", err))
		default:
		}
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		t.Fatalf("sshd on %s did not come up: %v\n%s", addr, err, logs.String())
	}
	return addr, hostKey
}

func TestRealSSHD(t *testing.T) {
	f := newFixture(t)
	addr, hostKey := realSSHD(t, f.pub)
	ctx := context.Background()

	t.Run("unknown host refused", func(t *testing.T) {
		_, err := Dial(ctx, addr, f.config())
		var ue *UnknownHostError
		if !errors.As(err, &ue) || ue.Fingerprint != ssh.FingerprintSHA256(hostKey) {
			t.Fatalf("Dial(real sshd) without its key in known_hosts = %v, want *UnknownHostError for %s", err, ssh.FingerprintSHA256(hostKey))
		}
	})

	t.Run("changed key refused", func(t *testing.T) {
		g := newFixture(t)
		g.key, g.pub = f.key, f.pub
		g.trust(t, addr, sshxtest.NewEd25519(t).PublicKey())
		_, err := Dial(ctx, addr, g.config())
		var ce *HostKeyChangedError
		if !errors.As(err, &ce) || ce.Line != 2 {
			t.Fatalf("Dial(real sshd) with a stale key = %v, want *HostKeyChangedError at line 2", err)
		}
	})

	f.trust(t, addr, hostKey)
	c := mustDial(t, addr, f.config())

	t.Run("command", func(t *testing.T) {
		arg := "it's $(not) run; `at` all\n"
		out, err := c.Run(ctx, []string{"printf", "%s|%s", arg, "second"}, RunOptions{})
		if err != nil || string(out.Stdout) != arg+"|second" {
			t.Fatalf("Run(printf) via sshd = %q, %v", out.Stdout, err)
		}
		_, err = c.Run(ctx, []string{"sh", "-c", "exit 7"}, RunOptions{})
		var xe *ExitError
		if !errors.As(err, &xe) || xe.Code != 7 {
			t.Fatalf("Run(exit 7) = %v, want code 7", err)
		}
	})

	t.Run("timeout kills the remote command", func(t *testing.T) {
		// sshd needs ~0.3s to start a command, more under -race: leave it time to start.
		checkCancelKills(t, c, t.TempDir(), 3*time.Second)
	})

	t.Run("cancel at start kills the remote command", func(t *testing.T) {
		checkImmediateCancel(t, c, t.TempDir())
	})

	t.Run("jump through sshd", func(t *testing.T) {
		target := sshxtest.NewServer(t, f.pub)
		f.trust(t, target.Addr, target.HostKeys[0].PublicKey())
		cfg := f.config()
		cfg.Via = c
		tc := mustDial(t, target.Addr, cfg)
		out, err := tc.Run(ctx, []string{"printf", "%s", "via OpenSSH"}, RunOptions{})
		if err != nil || string(out.Stdout) != "via OpenSSH" {
			t.Fatalf("Run through sshd's direct-tcpip = %q, %v", out.Stdout, err)
		}
	})

	t.Run("files over sftp-server", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "conf")
		for i, mode := range []os.FileMode{0o644, 0o640} {
			data := []byte(fmt.Sprintf("version %d\n", i))
			if err := c.WriteFile(ctx, target, data, mode, "root", "root"); err != nil {
				t.Fatalf("WriteFile via sshd: %v", err)
			}
			checkFile(t, target, data, mode)
			got, ok, err := c.ReadFile(ctx, target)
			if err != nil || !ok || !bytes.Equal(got, data) {
				t.Fatalf("ReadFile via sshd = %q, %v, %v", got, ok, err)
			}
		}
	})
}

// BenchmarkRun measures one command round trip (new session, exec, exit
// status) on an established connection, against the in-process server and
// against Debian's sshd.
func BenchmarkRun(b *testing.B) {
	f := newFixture(b)
	inproc := sshxtest.NewServer(b, f.pub)
	f.trust(b, inproc.Addr, inproc.HostKeys[0].PublicKey())
	real, hostKey := realSSHD(b, f.pub)
	f.trust(b, real, hostKey)
	for _, bc := range []struct{ name, addr string }{{"inprocess", inproc.Addr}, {"sshd", real}} {
		b.Run(bc.name, func(b *testing.B) {
			c := mustDial(b, bc.addr, f.config())
			for b.Loop() {
				if _, err := c.Run(context.Background(), []string{"true"}, RunOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDial measures connect + handshake + host key check + auth against sshd.
func BenchmarkDial(b *testing.B) {
	f := newFixture(b)
	addr, hostKey := realSSHD(b, f.pub)
	f.trust(b, addr, hostKey)
	for b.Loop() {
		c, err := Dial(context.Background(), addr, f.config())
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
