package sshx

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"al.essio.dev/pkg/shellescape"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// UnknownHostError means the host has no entry in known_hosts and AcceptNew is off.
type UnknownHostError struct {
	Host, File, Type, Fingerprint string
}

func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("host key of %s is not in %s (it offered %s %s): compare that fingerprint with "+
		"`ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub` on the host's console, then add it "+
		"(ssh-keyscan -p %s %s >> %s) or rerun accepting new host keys",
		e.Host, e.File, e.Type, e.Fingerprint, keyFileType(e.Type), portOf(e.Host), shellescape.Quote(hostOf(e.Host)), shellescape.Quote(e.File))
}

// HostKeyChangedError means known_hosts holds a different key for the host:
// a man in the middle, or a reinstalled host. It is never accepted.
type HostKeyChangedError struct {
	Host        string
	File        string
	Line        int    // of the old key in File
	OldType     string // the recorded key
	OldFinger   string
	Type        string // the offered key; empty if none was offered
	Fingerprint string
}

func (e *HostKeyChangedError) Error() string {
	offered := "offered " + e.Type + " " + e.Fingerprint
	if e.Type == "" {
		offered = "offers no key of the types recorded for it"
	}
	return fmt.Sprintf("HOST KEY CHANGED for %s: it %s, but %s:%d holds %s %s. "+
		"Someone may be intercepting the connection, or the host was reinstalled. "+
		"Only if you verified the new key on the host's console, remove the old one with: ssh-keygen -R %s -f %s",
		e.Host, offered, e.File, e.Line, e.OldType, e.OldFinger,
		shellescape.Quote(knownhosts.Normalize(e.Host)), shellescape.Quote(e.File))
}

// hostKeys verifies one host against a known_hosts file.
type hostKeys struct {
	file       string
	host       string
	db         *knownhosts.HostKeyDB
	algorithms []string
}

func newHostKeys(cfg Config, addr string) (*hostKeys, error) {
	file := cfg.KnownHosts
	if file == "" {
		return nil, errors.New("no known_hosts file configured; host keys are always verified")
	}
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		if !cfg.AcceptNew {
			return nil, fmt.Errorf("known_hosts %s does not exist: add the hosts' keys to it, or rerun accepting new host keys", file)
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, fmt.Errorf("create known_hosts: %w", err)
		}
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create known_hosts: %w", err)
		}
		f.Close()
	}
	db, err := knownhosts.NewDB(file)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	return &hostKeys{
		file: file,
		host: addr,
		db:   db,
		// Offer only the key types known_hosts holds for this host, or Go
		// may negotiate another type and report a bogus mismatch (golang/go#29286).
		algorithms: db.HostKeyAlgorithms(addr),
	}, nil
}

func (h *hostKeys) callback(cfg Config) ssh.HostKeyCallback {
	check := h.db.HostKeyCallback()
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		if err == nil {
			return nil
		}
		var ke *xknownhosts.KeyError
		if !errors.As(err, &ke) {
			return fmt.Errorf("host key of %s: %w", hostname, err)
		}
		if len(ke.Want) > 0 {
			old := ke.Want[0]
			return &HostKeyChangedError{
				Host: hostname, File: old.Filename, Line: old.Line,
				OldType: old.Key.Type(), OldFinger: ssh.FingerprintSHA256(old.Key),
				Type: key.Type(), Fingerprint: ssh.FingerprintSHA256(key),
			}
		}
		if !cfg.AcceptNew {
			return &UnknownHostError{Host: hostname, File: h.file, Type: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)}
		}
		return h.record(cfg, hostname, remote, key)
	}
}

// record appends a first-seen key to known_hosts (trust on first use).
func (h *hostKeys) record(cfg Config, hostname string, remote net.Addr, key ssh.PublicKey) error {
	f, err := os.OpenFile(h.file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("record host key: %w", err)
	}
	// Only the name we dialled: through a jump host the remote address is meaningless.
	werr := knownhosts.WriteKnownHost(f, hostname, &net.TCPAddr{IP: net.IPv4zero}, key)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("record host key in %s: %w", h.file, werr)
	}
	if cfg.OnNewHostKey != nil {
		cfg.OnNewHostKey(NewHostKey{Host: hostname, File: h.file, Type: key.Type(), Fingerprint: ssh.FingerprintSHA256(key)})
	}
	return nil
}

// explain turns handshake failures into messages that say what to do.
func (h *hostKeys) explain(cfg Config, err error) error {
	var changed *HostKeyChangedError
	var unknown *UnknownHostError
	switch {
	case errors.As(err, &changed):
		return changed
	case errors.As(err, &unknown):
		return unknown
	// x/crypto/ssh has no typed errors for these; match its messages.
	case strings.Contains(err.Error(), "no common algorithm for host key"):
		if k, ok := h.firstKnown(); ok {
			// The host offers none of the recorded types: treat as a changed key.
			return &HostKeyChangedError{Host: h.host, File: h.file, Line: k.Line,
				OldType: k.Key.Type(), OldFinger: ssh.FingerprintSHA256(k.Key)}
		}
	case strings.Contains(err.Error(), "unable to authenticate"):
		with := "the keys in ssh-agent"
		if cfg.KeyFile != "" {
			with = "key " + cfg.KeyFile
		}
		return fmt.Errorf("%w: the host refused user %s with %s (is its public key in ~%s/.ssh/authorized_keys?)",
			ErrAuth, cfg.User, with, cfg.User)
	}
	return err
}

// ErrAuth means the host refused every key offered.
var ErrAuth = errors.New("authentication failed")

// firstKnown finds the file line of the host's first recorded key.
func (h *hostKeys) firstKnown() (xknownhosts.KnownKey, bool) {
	cb, err := xknownhosts.New(h.file)
	if err != nil {
		return xknownhosts.KnownKey{}, false
	}
	var ke *xknownhosts.KeyError
	if err := cb(h.host, &net.TCPAddr{IP: net.IPv4zero}, invalidKey{}); errors.As(err, &ke) && len(ke.Want) > 0 {
		return ke.Want[0], true
	}
	return xknownhosts.KnownKey{}, false
}

// invalidKey matches no recorded key, so a lookup returns all of them.
type invalidKey struct{}

func (invalidKey) Type() string                            { return "invalid" }
func (invalidKey) Marshal() []byte                         { return []byte("invalid") }
func (invalidKey) Verify(_ []byte, _ *ssh.Signature) error { return errors.New("invalid key") }

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

func portOf(hostport string) string {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "22"
	}
	return p
}

// keyFileType maps a key type to the name sshd gives its host key file.
func keyFileType(t string) string {
	switch {
	case strings.HasPrefix(t, "ecdsa"):
		return "ecdsa"
	case t == ssh.KeyAlgoRSA:
		return "rsa"
	}
	return "ed25519"
}
