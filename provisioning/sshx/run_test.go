package sshx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/sshx/sshxtest"
)

// hostile are arguments a shell would love to interpret.
var hostile = []string{
	"plain",
	"two words",
	"it's",
	`"double"`,
	`back\slash`,
	"$HOME",
	"${PATH}",
	"*",
	"-n",
	"--",
	"",
	" leading and trailing ",
	"tab\there",
	"line1\nline2\n",
	"semi; echo INJECTED",
	"and && echo INJECTED",
	"pipe | cat",
	"redirect > /dev/null",
	"`echo INJECTED`",
	"!history",
	"~root",
	"unicode: zürich ☃",
}

func TestRunQuotesEveryArgument(t *testing.T) {
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub)
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	c := mustDial(t, srv.Addr, f.config())
	pwned := filepath.Join(t.TempDir(), "pwned")
	args := append(hostile, "$(touch "+pwned+")", "; touch "+pwned)
	for _, arg := range args {
		t.Run(strconv.Quote(arg), func(t *testing.T) {
			out, err := c.Run(context.Background(), []string{"printf", "%s", arg}, RunOptions{})
			if err != nil {
				t.Fatalf("Run(printf %%s %q): %v", arg, err)
			}
			if string(out.Stdout) != arg {
				t.Errorf("Run(printf %%s %q) printed %q", arg, out.Stdout)
			}
		})
	}
	// All at once, so argument boundaries are checked too.
	script := `for a; do printf '[%s]' "$a"; done`
	out, err := c.Run(context.Background(), append([]string{"sh", "-c", script, "sh"}, args...), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, a := range args {
		want += "[" + a + "]"
	}
	if string(out.Stdout) != want {
		t.Errorf("argv boundaries lost:\n got %q\nwant %q", out.Stdout, want)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Errorf("%s exists: an argument was executed by the remote shell", pwned)
	}
}

func TestRunStdin(t *testing.T) {
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub)
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	c := mustDial(t, srv.Addr, f.config())
	in := strings.Repeat("line with $(x) and 'q'\n", 10000)
	out, err := c.Run(context.Background(), []string{"cat"}, RunOptions{Stdin: strings.NewReader(in)})
	if err != nil || string(out.Stdout) != in {
		t.Fatalf("Run(cat) with %d bytes on stdin: got %d bytes, %v", len(in), len(out.Stdout), err)
	}
}

func TestRunExitCodes(t *testing.T) {
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub)
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	c := mustDial(t, srv.Addr, f.config())
	tests := []struct {
		name       string
		argv       []string
		wantCode   int
		wantStderr string
		wantMsg    string
	}{
		{"success", []string{"true"}, 0, "", ""},
		{"failure", []string{"false"}, 1, "", srv.Addr + ": false: exit status 1"},
		{"code and stderr", []string{"sh", "-c", "echo first >&2; echo 'E: last words' >&2; exit 42"}, 42,
			"first\nE: last words\n", "exit status 42: E: last words"},
		{"missing program", []string{"no-such-program-ctr"}, 127, "", "exit status 127"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Run(context.Background(), tt.argv, RunOptions{})
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Run(%q): %v", tt.argv, err)
				}
				return
			}
			var xe *ExitError
			if !errors.As(err, &xe) || xe.Code != tt.wantCode {
				t.Fatalf("Run(%q) = %v, want *ExitError with code %d", tt.argv, err, tt.wantCode)
			}
			if tt.wantStderr != "" && string(xe.Stderr) != tt.wantStderr {
				t.Errorf("Stderr = %q, want %q", xe.Stderr, tt.wantStderr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", err, tt.wantMsg)
			}
		})
	}
}

// checkCancelKills runs a command that records its pid and hangs, cancels it
// by timeout and proves the remote process is gone, not just abandoned.
func checkCancelKills(t *testing.T, c *Client, dir string, timeout time.Duration) {
	t.Helper()
	pidFile := filepath.Join(dir, "pid")
	start := time.Now()
	_, err := c.Run(context.Background(),
		[]string{"sh", "-c", `echo $$ > "$1"; exec sleep 30`, "sh", pidFile},
		RunOptions{Timeout: timeout})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run(sleep 30) with %v timeout = %v, want context.DeadlineExceeded", timeout, err)
	}
	if d := time.Since(start); d > timeout+5*time.Second {
		t.Errorf("Run returned after %v; the timeout was %v", d, timeout)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the command never started: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := waitGone(pid, 5*time.Second); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("remote process %d after the timeout: %v", pid, err)
	}
	if _, err := c.Run(context.Background(), []string{"true"}, RunOptions{}); err != nil {
		t.Errorf("connection unusable after a cancelled command: %v", err)
	}
}

func TestRunTimeoutKillsCommand(t *testing.T) {
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub)
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	checkCancelKills(t, mustDial(t, srv.Addr, f.config()), t.TempDir(), 500*time.Millisecond)
}

// fakeSudo puts a `sudo` first on the server's PATH. The real one cannot be
// used here without a second account; the argv it receives is still checked.
func fakeSudo(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

const sudoPassthrough = `[ "$1" = -n ] && [ "$2" = -- ] || { echo "fake sudo: got $*" >&2; exit 99; }
shift 2
exec "$@"
`

func TestRunNonRootUsesSudo(t *testing.T) {
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub, sshxtest.WithPath(fakeSudo(t, sudoPassthrough)))
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	cfg := f.config()
	cfg.User = "deploy"
	c := mustDial(t, srv.Addr, cfg)
	arg := "semi; echo INJECTED $(id)"
	out, err := c.Run(context.Background(), []string{"printf", "%s", arg}, RunOptions{})
	if err != nil || string(out.Stdout) != arg {
		t.Fatalf("Run via sudo = %q, %v; want %q", out.Stdout, err, arg)
	}
}

func TestRunSudoNeedsPassword(t *testing.T) {
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub, sshxtest.WithPath(fakeSudo(t, "echo 'sudo: a password is required' >&2\nexit 1\n")))
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	cfg := f.config()
	cfg.User = "deploy"
	c := mustDial(t, srv.Addr, cfg)
	_, err := c.Run(context.Background(), []string{"true"}, RunOptions{})
	var xe *ExitError
	if !errors.Is(err, ErrSudoPassword) || !errors.As(err, &xe) {
		t.Fatalf("Run when sudo wants a password = %v, want ErrSudoPassword wrapping *ExitError", err)
	}
	for _, want := range []string{"deploy", "NOPASSWD", "sudo -n"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// checkImmediateCancel cancels a command right after it was started, before
// it can have reported its process group, and checks it does not run on.
func checkImmediateCancel(t *testing.T, c *Client, dir string) {
	t.Helper()
	pidFile := filepath.Join(dir, "pid")
	_, err := c.Run(context.Background(),
		[]string{"sh", "-c", `echo $$ > "$1"; exec sleep 30`, "sh", pidFile},
		RunOptions{Timeout: time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run with 1ms timeout = %v, want context.DeadlineExceeded", err)
	}
	// A survivor writes its pid within a second (sshd starts commands in ~0.3s).
	deadline := time.Now().Add(2 * time.Second)
	var pid int
	err = testutil.Wait(time.Until(deadline), func(context.Context) error {
		b, err := os.ReadFile(pidFile)
		if err != nil || len(b) == 0 || b[len(b)-1] != '\n' {
			return errors.New("no pid file") // what should stay so
		}
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return nil
	})
	if err != nil {
		return // nothing started
	}
	if err := waitGone(pid, time.Until(deadline)); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("command cancelled at start still runs as pid %d: %v", pid, err)
	}
}

// waitGone polls until no process has pid: there is nothing to wait on.
func waitGone(pid int, within time.Duration) error {
	return testutil.Wait(within, func(context.Context) error {
		if syscall.Kill(pid, 0) == nil {
			return errors.New("still runs")
		}
		return nil
	})
}

func TestRunImmediateCancel(t *testing.T) {
	f := newFixture(t)
	srv := sshxtest.NewServer(t, f.pub)
	f.trust(t, srv.Addr, srv.HostKeys[0].PublicKey())
	checkImmediateCancel(t, mustDial(t, srv.Addr, f.config()), t.TempDir())
}
