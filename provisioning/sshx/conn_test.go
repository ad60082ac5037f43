package sshx

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/sshx/sshxtest"
)

func TestJumpHost(t *testing.T) {
	f := newFixture(t)
	jump := sshxtest.NewServer(t, f.pub)
	target := sshxtest.NewServer(t, f.pub)
	f.trust(t, jump.Addr, jump.HostKeys[0].PublicKey())
	f.trust(t, target.Addr, target.HostKeys[0].PublicKey())
	via := mustDial(t, jump.Addr, f.config())

	cfg := f.config()
	cfg.Via = via
	c := mustDial(t, target.Addr, cfg)
	out, err := c.Run(context.Background(), []string{"printf", "%s", "through the jump"}, RunOptions{})
	if err != nil || string(out.Stdout) != "through the jump" {
		t.Fatalf("Run through the jump host = %q, %v", out.Stdout, err)
	}
	if n := jump.Forwards(); n != 1 {
		t.Errorf("jump host forwarded %d connections, want 1", n)
	}

	t.Run("target host key still verified", func(t *testing.T) {
		other := sshxtest.NewServer(t, f.pub) // not in known_hosts
		_, err := Dial(context.Background(), other.Addr, cfg)
		var ue *UnknownHostError
		if !errors.As(err, &ue) {
			t.Fatalf("Dial via jump to an unknown host = %v, want *UnknownHostError", err)
		}
	})

	t.Run("silent target times out", func(t *testing.T) {
		// golang/go#15113: the tunnelled conn has no deadlines, a silent peer must not hang us.
		silent, _ := sshxtest.Silent(t)
		cfg := cfg
		cfg.ConnectTimeout = 300 * time.Millisecond
		start := time.Now()
		_, err := Dial(context.Background(), silent, cfg)
		if err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("Dial via jump to a silent peer = %v after %v, want a timeout well within 5s", err, time.Since(start))
		}
	})
}

func TestKeepAlive(t *testing.T) {
	t.Run("answered keepalives keep the connection", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub)
		f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
		cfg := f.config()
		cfg.KeepAlive, cfg.KeepAliveMax = 50*time.Millisecond, 2
		c := mustDial(t, srv.Addr, cfg)
		testutil.Poll(t, 5*time.Second, "5 keepalives at a 50ms interval", func(context.Context) error {
			if n := srv.Keepalives(); n < 5 {
				return fmt.Errorf("server saw %d", n)
			}
			return nil
		})
		if _, err := c.Run(context.Background(), []string{"true"}, RunOptions{}); err != nil {
			t.Fatalf("Run after keepalives: %v", err)
		}
	})

	t.Run("a silent peer closes the connection", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub, sshxtest.SilentKeepalives())
		f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
		cfg := f.config()
		cfg.KeepAlive, cfg.KeepAliveMax = 50*time.Millisecond, 3
		c := mustDial(t, srv.Addr, cfg)
		waited := make(chan error, 1)
		go func() { waited <- c.Wait() }()
		select {
		case err := <-waited:
			if !errors.Is(err, ErrPeerDead) {
				t.Fatalf("Wait() = %v, want ErrPeerDead", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("connection to a silent peer still open after 5s (keepalive every 50ms, 3 allowed)")
		}
		_, err := c.Run(context.Background(), []string{"true"}, RunOptions{})
		if !errors.Is(err, ErrPeerDead) {
			t.Errorf("Run on the closed connection = %v, want it to say ErrPeerDead", err)
		}
	})

	t.Run("a running command fails when the peer goes silent", func(t *testing.T) {
		f := newFixture(t)
		srv := sshxtest.NewServer(t, f.pub, sshxtest.SilentKeepalives())
		f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
		cfg := f.config()
		cfg.KeepAlive, cfg.KeepAliveMax = 50*time.Millisecond, 3
		c := mustDial(t, srv.Addr, cfg)
		start := time.Now()
		_, err := c.Run(context.Background(), []string{"sleep", "30"}, RunOptions{})
		if !errors.Is(err, ErrPeerDead) || time.Since(start) > 10*time.Second {
			t.Fatalf("Run(sleep 30) on a silent peer = %v after %v, want ErrPeerDead within seconds", err, time.Since(start))
		}
	})
}
