package sshx

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"counter/internal/testutil"
	"counter/provisioning/sshx/sshxtest"
)

type fixture struct {
	dir, key, known string
	pub             ssh.PublicKey
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	f := &fixture{dir: dir, key: key, pub: pub, known: filepath.Join(dir, "known_hosts")}
	if err := os.WriteFile(f.known, []byte("# test known_hosts\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// trust records keys for addr in the fixture's known_hosts.
func (f *fixture) trust(t testing.TB, addr string, keys ...ssh.PublicKey) {
	t.Helper()
	fh, err := os.OpenFile(f.known, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	for _, k := range keys {
		if _, err := fh.WriteString(knownhosts.Line([]string{addr}, k) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) config() Config {
	return Config{User: "root", KeyFile: f.key, KnownHosts: f.known, ConnectTimeout: 5 * time.Second}
}

func mustDial(t testing.TB, addr string, cfg Config) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, cfg)
	if err != nil {
		t.Fatalf("Dial(%s): %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestHostKeyVerification(t *testing.T) {
	t.Run("known host", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub)
		f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
		c := mustDial(t, srv.Addr, f.config())
		out, err := c.Run(context.Background(), []string{"echo", "hi"}, RunOptions{})
		if err != nil || string(out.Stdout) != "hi\n" {
			t.Fatalf("Run(echo hi) = %q, %v; want \"hi\\n\"", out.Stdout, err)
		}
	})

	t.Run("unknown host refused", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub)
		_, err := Dial(context.Background(), srv.Addr, f.config())
		var ue *UnknownHostError
		if !errors.As(err, &ue) {
			t.Fatalf("Dial to unknown host: err = %v, want *UnknownHostError", err)
		}
		if want := ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey()); ue.Fingerprint != want || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q should name the offered fingerprint %s", err, want)
		}
	})

	t.Run("unknown host accepted and recorded with AcceptNew", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub)
		var seen []NewHostKey
		cfg := f.config()
		cfg.AcceptNew = true
		cfg.OnNewHostKey = func(k NewHostKey) { seen = append(seen, k) }
		mustDial(t, srv.Addr, cfg)
		want := NewHostKey{Host: srv.Addr, File: f.known, Type: ssh.KeyAlgoED25519, Fingerprint: ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey())}
		if len(seen) != 1 || seen[0] != want {
			t.Fatalf("OnNewHostKey got %+v, want [%+v]", seen, want)
		}
		// Recorded: a strict client now trusts it, and a second AcceptNew dial reports nothing new.
		mustDial(t, srv.Addr, f.config())
		mustDial(t, srv.Addr, cfg)
		if len(seen) != 1 {
			t.Errorf("key reported again after it was recorded: %+v", seen)
		}
	})

	t.Run("AcceptNew creates a missing known_hosts", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub)
		cfg := f.config()
		cfg.KnownHosts = filepath.Join(f.dir, "new", "known_hosts")
		if _, err := Dial(context.Background(), srv.Addr, cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("strict Dial with missing known_hosts: err = %v, want 'does not exist'", err)
		}
		cfg.AcceptNew = true
		mustDial(t, srv.Addr, cfg)
		if fi, err := os.Stat(cfg.KnownHosts); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("known_hosts after AcceptNew: %v, %v; want mode 0600", fi, err)
		}
	})

	t.Run("changed key refused even with AcceptNew", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub)
		f.trust(t, "198.51.100.1:22", sshxtest.NewEd25519(t).PublicKey()) // line 2: another host
		old := sshxtest.NewEd25519(t).PublicKey()
		f.trust(t, srv.Addr, old) // line 3: a stale key for this one
		cfg := f.config()
		cfg.AcceptNew = true
		_, err := Dial(context.Background(), srv.Addr, cfg)
		var ce *HostKeyChangedError
		if !errors.As(err, &ce) {
			t.Fatalf("Dial with changed key: err = %v, want *HostKeyChangedError", err)
		}
		msg := err.Error()
		for _, want := range []string{
			"HOST KEY CHANGED for " + srv.Addr,
			f.known + ":3",
			ssh.FingerprintSHA256(old),
			ssh.FingerprintSHA256(srv.HostKeys[0].PublicKey()),
			"ssh-keygen -R '" + knownhosts.Normalize(srv.Addr) + "' -f " + f.known,
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q lacks %q", msg, want)
			}
		}
		if b, _ := os.ReadFile(f.known); strings.Count(string(b), "\n") != 3 {
			t.Errorf("known_hosts was modified:\n%s", b)
		}
	})

	t.Run("key type changed is a changed key", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub) // offers ed25519 only
		f.trust(t, srv.Addr, sshxtest.NewRSA(t).PublicKey())
		_, err := Dial(context.Background(), srv.Addr, f.config())
		var ce *HostKeyChangedError
		if !errors.As(err, &ce) || ce.Line != 2 || ce.OldType != ssh.KeyAlgoRSA {
			t.Fatalf("Dial when the host dropped its RSA key: err = %v, want *HostKeyChangedError for line 2", err)
		}
	})
}

// TestHostKeyAlgorithmFromKnownHosts is golang/go#29286: the host has an
// ed25519 and an RSA key, known_hosts only the ed25519 one. Go alone prefers
// RSA, negotiates it and sees a mismatch; Dial must ask for ed25519.
func TestHostKeyAlgorithmFromKnownHosts(t *testing.T) {
	f := newFixture(t)
	ed, rs := sshxtest.NewEd25519(t), sshxtest.NewRSA(t)
	srv := sshxtest.NewServer(t, f.pub, sshxtest.WithHostKeys(ed, rs))
	f.trust(t, srv.Addr, ed.PublicKey())

	// The control: plain x/crypto with default algorithms fails on this very setup.
	cb, err := xknownhosts.New(f.known)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(testutil.ReadFile(t, f.key))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ssh.Dial("tcp", srv.Addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: cb, Timeout: 5 * time.Second})
	if err == nil {
		plain.Close()
		t.Fatal("control: plain ssh.Dial succeeded, so this test proves nothing")
	}

	c := mustDial(t, srv.Addr, f.config())
	if _, err := c.Run(context.Background(), []string{"true"}, RunOptions{}); err != nil {
		t.Fatalf("Run over the ed25519-verified connection: %v", err)
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(f *fixture) Config
		wantErr string
	}{
		{"passphrase-protected key", func(f *fixture) Config {
			c := f.config()
			c.KeyFile, _ = sshxtest.WriteKey(t, f.dir, "hunter2")
			return c
		}, "is protected by a passphrase, which counterctl never asks for: load it into ssh-agent (ssh-add "},
		{"key the host does not know", func(f *fixture) Config {
			c := f.config()
			c.KeyFile, _ = sshxtest.WriteKey(t, t.TempDir(), "")
			return c
		}, "authentication failed: the host refused user root with key "},
		{"no key and no agent", func(f *fixture) Config {
			c := f.config()
			c.KeyFile = ""
			return c
		}, "no key_file given and no ssh-agent ($SSH_AUTH_SOCK is unset)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			srv := sshxtest.NewServer(t, f.pub)
			f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
			_, err := Dial(context.Background(), srv.Addr, tt.cfg(f))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Dial: err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	silent, _ := sshxtest.Silent(t) // a peer that accepts TCP and never speaks SSH
	f := newFixture(t)
	cfg := f.config()
	cfg.ConnectTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Dial(context.Background(), silent, cfg)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Dial to a silent peer: err = %v after %v; want a timeout error well within 5s", err, time.Since(start))
	}
}

// TestAgentAuth uses the ssh-agent protocol over a unix socket, as the
// passphrase error advises: the key is only in the agent, not on disk.
func TestAgentAuth(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring := agent.NewKeyring()
	if err := ring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(ring, c); c.Close() }()
		}
	}()
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	srv := sshxtest.NewServer(t, signer.PublicKey())
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	cfg := f.config()
	cfg.KeyFile, cfg.AgentSocket = "", sock
	c := mustDial(t, srv.Addr, cfg)
	if _, err := c.Run(context.Background(), []string{"true"}, RunOptions{}); err != nil {
		t.Fatalf("Run with agent auth: %v", err)
	}
}
