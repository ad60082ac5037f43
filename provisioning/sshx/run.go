package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
	full := argv
	if c.sudo {
		full = append([]string{"sudo", "-n", "--"}, argv...)
	}
	var out Output
	s, err := c.ssh.NewSession()
	if err != nil {
		return out, fmt.Errorf("%s: open session: %w", c.addr, c.err(err))
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if opts.Stdin != nil {
		s.Stdin = opts.Stdin
	}
	cmd := shellescape.QuoteCommand(full)
	if err := s.Start(cmd); err != nil {
		return out, fmt.Errorf("%s: start %s: %w", c.addr, argv[0], c.err(err))
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Ask sshd to kill the command, then drop the channel; OpenSSH >= 7.9 honours the signal.
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		<-done
		return Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()},
			fmt.Errorf("%s: %s: %w", c.addr, shellescape.QuoteCommand(argv), context.Cause(ctx))
	}
	out = Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
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
		return out, &ExitError{Host: c.addr, Argv: argv, Code: -1, Stderr: out.Stderr}
	}
	return out, fmt.Errorf("%s: %s: %w", c.addr, argv[0], c.err(err))
}

func sudoWantsPassword(stderr []byte) bool {
	// sudo's own words (sudo 1.9 in Debian 12, LANG=C as sshd passes no locale).
	return bytes.Contains(stderr, []byte("sudo: a password is required")) ||
		bytes.Contains(stderr, []byte("sudo: a terminal is required"))
}
