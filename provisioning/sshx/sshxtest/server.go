// Package sshxtest runs a small in-process SSH server for tests, like
// net/http/httptest: commands run with `sh -c` on this machine, SFTP is
// served from it, direct-tcpip is forwarded (jump hosts) and keepalives are
// answered or, on request, ignored like a dead peer.
package sshxtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Server is a running in-process SSH server on 127.0.0.1.
type Server struct {
	Addr     string       // host:port
	HostKeys []ssh.Signer // what it authenticates with, first preferred

	listen     string
	path       string // PATH for commands; lets tests put a fake sudo first
	silent     bool   // never answer keepalives, like a dead peer
	keepalives atomic.Int32
	forwards   atomic.Int32
	mu         sync.Mutex
	procs      map[int]bool
}

// Option configures a Server.
type Option func(*Server)

// WithHostKeys replaces the default single ed25519 host key.
func WithHostKeys(keys ...ssh.Signer) Option { return func(s *Server) { s.HostKeys = keys } }

// WithPath puts dir first on the PATH of commands, e.g. for a fake sudo.
func WithPath(dir string) Option {
	return func(s *Server) { s.path = dir + ":" + os.Getenv("PATH") }
}

// WithListen sets the listen address (default 127.0.0.1:0), e.g. 127.0.0.2:0
// for a second loopback "host".
func WithListen(addr string) Option { return func(s *Server) { s.listen = addr } }

// SilentKeepalives makes the server ignore keepalives, like a dead peer.
func SilentKeepalives() Option { return func(s *Server) { s.silent = true } }

// NewServer starts a server that accepts clientKey for any user; t.Cleanup stops it
// and kills commands still running.
func NewServer(t testing.TB, clientKey ssh.PublicKey, opts ...Option) *Server {
	t.Helper()
	s := &Server{listen: "127.0.0.1:0", path: os.Getenv("PATH"), procs: map[int]bool{}}
	for _, o := range opts {
		o(s)
	}
	if len(s.HostKeys) == 0 {
		s.HostKeys = []ssh.Signer{NewEd25519(t)}
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if string(k.Marshal()) == string(clientKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	for _, k := range s.HostKeys {
		cfg.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for pid := range s.procs {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cfg)
		}
	}()
	return s
}

func (s *Server) serve(c net.Conn, cfg *ssh.ServerConfig) {
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		c.Close()
		return
	}
	defer conn.Close()
	go func() {
		for r := range reqs {
			if r.Type == "keepalive@openssh.com" {
				s.keepalives.Add(1)
				if s.silent {
					continue
				}
			}
			r.Reply(r.Type == "keepalive@openssh.com", nil)
		}
	}()
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			go s.session(nc)
		case "direct-tcpip":
			go s.forward(nc)
		default:
			nc.Reject(ssh.UnknownChannelType, "no")
		}
	}
}

func (s *Server) forward(nc ssh.NewChannel) {
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	target, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		target.Close()
		return
	}
	s.forwards.Add(1)
	go ssh.DiscardRequests(reqs)
	go func() { io.Copy(ch, target); ch.Close() }()
	io.Copy(target, ch)
	target.Close()
}

func (s *Server) session(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	var cmd *exec.Cmd
	exited := make(chan uint32, 1)
	for r := range reqs {
		switch r.Type {
		case "exec":
			if len(r.Payload) < 4 {
				r.Reply(false, nil)
				continue
			}
			line := string(r.Payload[4:])
			cmd = exec.Command("sh", "-c", line)
			cmd.Env = []string{"PATH=" + s.path, "LANG=C"}
			cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
			// Like sshd: each command leads a new session (and process group).
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			cmd.WaitDelay = time.Second
			if err := cmd.Start(); err != nil {
				r.Reply(false, nil)
				continue
			}
			s.track(cmd.Process.Pid, true)
			r.Reply(true, nil)
			go func() {
				err := cmd.Wait()
				s.track(cmd.Process.Pid, false)
				code := uint32(0)
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = uint32(ee.ExitCode())
				}
				ch.CloseWrite()
				exited <- code
				ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, code))
				ch.Close()
			}()
		case "subsystem":
			if string(r.Payload[4:]) != "sftp" {
				r.Reply(false, nil)
				continue
			}
			r.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err == nil {
				srv.Serve()
				srv.Close()
			}
			return
		case "signal":
			if cmd != nil && cmd.Process != nil {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			if r.WantReply {
				r.Reply(true, nil)
			}
		default:
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}
	// The client closed the channel: a command still running is orphaned, kill it.
	if cmd != nil && cmd.Process != nil {
		select {
		case <-exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

func (s *Server) track(pid int, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if running {
		s.procs[pid] = true
	} else {
		delete(s.procs, pid)
	}
}

// NewEd25519 makes a fresh ed25519 signer.
func NewEd25519(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// NewRSA makes a fresh 2048-bit RSA signer.
func NewRSA(t testing.TB) ssh.Signer {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// WriteKey stores a fresh ed25519 client key as OpenSSH PEM in dir,
// encrypted when passphrase is set, and returns its path and public key.
func WriteKey(t testing.TB, dir string, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, blockErr := ssh.MarshalPrivateKey(priv, "test")
	if passphrase != "" {
		block, blockErr = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if blockErr != nil {
		t.Fatal(blockErr)
	}
	path := filepath.Join(dir, "id_ed25519")
	if passphrase != "" {
		path += "_protected"
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, sp
}

// Keepalives counts keepalive@openssh.com requests received.
func (s *Server) Keepalives() int { return int(s.keepalives.Load()) }

// Forwards counts direct-tcpip channels forwarded (jump-host use).
func (s *Server) Forwards() int { return int(s.forwards.Load()) }
