package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"al.essio.dev/pkg/shellescape"
	"golang.org/x/crypto/ssh"
)

// RunOptions tunes one command.
type RunOptions struct {
	Stdin   io.Reader     // e.g. file contents; nil means empty
	Timeout time.Duration // overrides Config.CommandTimeout
}

// Output is what a command printed.
type Output struct {
	Stdout, Stderr []byte
}

// ExitError is a command that ran and failed.
type ExitError struct {
	Host   string
	Argv   []string
	Code   int    // -1 if killed by a signal or the exit status was lost
	Signal string // e.g. KILL, when Code is -1
	Stderr []byte
}

func (e *ExitError) Error() string {
	how := fmt.Sprintf("exit status %d", e.Code)
	if e.Code < 0 {
		how = "killed by signal " + e.Signal
		if e.Signal == "" {
			how = "ended without an exit status"
		}
	}
	msg := fmt.Sprintf("%s: %s: %s", e.Host, shellescape.QuoteCommand(e.Argv), how)
	if tail := lastLine(e.Stderr); tail != "" {
		msg += ": " + tail
	}
	return msg
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// ErrSudoPassword means the user needs a password for sudo; counterctl
// only uses `sudo -n`, so that user needs NOPASSWD.
var ErrSudoPassword = errors.New("sudo needs a password")

// Run executes argv on the host, as root: through `sudo -n --` when the
// login user is not root. Arguments are quoted one by one for the remote
// shell, so no value is ever interpreted by it. A non-zero exit is an
// *ExitError; ctx cancellation or the timeout kills the command.
func (c *Client) Run(ctx context.Context, argv []string, opts RunOptions) (Output, error) {
	if len(argv) == 0 {
		return Output{}, errors.New("run: empty command")
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = c.cfg.CommandTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	full := append([]string{"sh", "-c", groupWrapper, "sh"}, argv...)
	if c.sudo {
		full = append([]string{"sudo", "-n", "--"}, full...)
	}
	s, err := c.ssh.NewSession()
	if err != nil {
		return Output{}, fmt.Errorf("%s: open session: %w", c.addr, c.err(err))
	}
	defer s.Close()
	var stdout lockedBuffer
	stderr := &groupSniffer{decided: make(chan struct{})}
	s.Stdout, s.Stderr = &stdout, stderr
	if opts.Stdin != nil {
		s.Stdin = opts.Stdin
	}
	if err := s.Start(shellescape.QuoteCommand(full)); err != nil {
		return Output{}, fmt.Errorf("%s: start %s: %w", c.addr, argv[0], c.err(err))
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// A command cancelled right after it started may not have reported
		// its group yet; give it a moment. (Had we closed the channel first,
		// the marker's write would hit a closed pipe and SIGPIPE the wrapper
		// before it execs: that is the other half of this guarantee.)
		t := time.NewTimer(3 * time.Second)
		select {
		case <-stderr.decided:
		case <-done:
		case <-t.C:
		}
		t.Stop()
		c.kill(ctx, s, stderr.group())
		// OpenSSH holds the channel open until the command is gone; don't hang on it.
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		return Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()},
			fmt.Errorf("%s: %s: %w", c.addr, shellescape.QuoteCommand(argv), context.Cause(ctx))
	}
	out := Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err == nil {
		return out, nil
	}
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case errors.As(err, &ee):
		xe := &ExitError{Host: c.addr, Argv: argv, Code: ee.ExitStatus(), Stderr: out.Stderr}
		if ee.Signal() != "" {
			xe.Code, xe.Signal = -1, ee.Signal()
		}
		if c.sudo && xe.Code == 1 && sudoWantsPassword(out.Stderr) {
			return out, fmt.Errorf("%s: %w: counterctl runs every command as `sudo -n` for user %s; "+
				"allow it without a password (a NOPASSWD line in /etc/sudoers.d/) or connect as root: %w",
				c.addr, ErrSudoPassword, c.cfg.User, xe)
		}
		return out, xe
	case errors.As(err, &missing):
		xe := &ExitError{Host: c.addr, Argv: argv, Code: -1, Stderr: out.Stderr}
		if reason := c.closedBecause(); reason != nil {
			// The connection died under the command; say why, not just "no status".
			return out, fmt.Errorf("%w: %w", reason, xe)
		}
		return out, xe
	}
	return out, fmt.Errorf("%s: %s: %w", c.addr, argv[0], c.err(err))
}

// groupWrapper reports the command's process group on the first stderr
// line, then becomes the command. sshd makes each command the leader of a
// new session, so pgid == sid there; the check keeps a server that does
// not from ever handing us a group that is not the command's own.
const groupWrapper = `read -r _ _ _ _ g s _ </proc/self/stat 2>/dev/null && [ "$g" = "$s" ] && printf '` + groupMarker + `%s\n' "$g" >&2; exec "$@"`

const groupMarker = "ctr-pgid "

// kill stops a cancelled command. The SSH signal request is what the
// protocol offers, but OpenSSH refuses it for root logins ("session
// signalling requires privilege separation"), so the process group is
// also killed from a second session.
func (c *Client) kill(ctx context.Context, s *ssh.Session, pgid string) {
	_ = s.Signal(ssh.SIGKILL)
	s.Close()
	if pgid == "" {
		c.log.Warn("cancelled command may still run: its process group is unknown")
		return
	}
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	argv := []string{"sh", "-c", `kill -s KILL -- "-$1" 2>/dev/null || true`, "sh", pgid}
	if c.sudo {
		argv = append([]string{"sudo", "-n", "--"}, argv...)
	}
	ks, err := c.ssh.NewSession()
	if err != nil {
		c.log.Warn("cannot kill cancelled command", "pgid", pgid, "err", err)
		return
	}
	defer ks.Close()
	res := make(chan error, 1)
	go func() { res <- ks.Run(shellescape.QuoteCommand(argv)) }()
	select {
	case err = <-res:
	case <-kctx.Done():
		err = kctx.Err()
	}
	if err != nil {
		c.log.Warn("cannot kill cancelled command", "pgid", pgid, "err", err)
	}
}

// lockedBuffer is written by the session's copier while Run may read it after a cancel.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// groupSniffer takes groupWrapper's marker line off stderr.
type groupSniffer struct {
	decided chan struct{} // closed once the first line is seen
	mu      sync.Mutex
	head    []byte // stderr before the first newline, while undecided
	done    bool
	pgid    string
	out     bytes.Buffer
}

func (g *groupSniffer) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return g.out.Write(p)
	}
	g.head = append(g.head, p...)
	i := bytes.IndexByte(g.head, '\n')
	if i < 0 {
		if len(g.head) > 64 { // too long to be the marker
			g.done = true
			close(g.decided)
			g.out.Write(g.head)
			g.head = nil
		}
		return len(p), nil
	}
	g.done = true
	close(g.decided)
	if v, ok := bytes.CutPrefix(g.head[:i], []byte(groupMarker)); ok && isDigits(v) {
		g.pgid = string(v)
		g.out.Write(g.head[i+1:])
	} else {
		g.out.Write(g.head)
	}
	g.head = nil
	return len(p), nil
}

func (g *groupSniffer) group() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pgid
}

func (g *groupSniffer) Bytes() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append(bytes.Clone(g.out.Bytes()), g.head...)
}

func isDigits(b []byte) bool {
	if len(b) == 0 || len(b) > 10 || b[0] == '0' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func sudoWantsPassword(stderr []byte) bool {
	// sudo's own words (sudo 1.9 in Debian 12); a localised sudo yields a plain ExitError.
	return bytes.Contains(stderr, []byte("sudo: a password is required")) ||
		bytes.Contains(stderr, []byte("sudo: a terminal is required"))
}
