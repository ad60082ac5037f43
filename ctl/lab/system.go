package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"counter/internal/netnsdir"
)

// run executes argv and returns its stdout; a failure carries the command and its stderr.
func run(ctx context.Context, argv ...string) (string, error) {
	return runIn(ctx, nil, argv...)
}

// runIn is run with stdin.
func runIn(ctx context.Context, stdin io.Reader, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return out.String(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
	}
	return out.String(), nil
}

// inNetns runs fn on an OS thread switched into the named network namespace,
// so /proc/sys/net and sockets fn opens belong to that namespace.
func inNetns(name string, fn func() error) error { return netnsdir.In(name, fn) }

// writeSysctl sets a /proc/sys value, e.g. "net/ipv4/ip_forward".
func writeSysctl(key, value string) error {
	if err := os.WriteFile("/proc/sys/"+key, []byte(value+"\n"), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

func readSysctl(key string) (string, error) {
	b, err := os.ReadFile("/proc/sys/" + key)
	return strings.TrimSpace(string(b)), err
}

// Proc identifies a process the lab started: the pid and its start time, so
// a recycled pid is never mistaken for (and never signalled as) ours.
type Proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// procStart reads the start time (clock ticks since boot) of pid.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// NewProc records a just-started pid.
func NewProc(pid int) (Proc, error) {
	st, err := procStart(pid)
	return Proc{PID: pid, Start: st}, err
}

// Alive reports whether the recorded process still runs.
func (p Proc) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	st, err := procStart(p.PID)
	return err == nil && st == p.Start
}

// Signal sends sig if the process is still the one recorded.
func (p Proc) Signal(sig syscall.Signal) error {
	if !p.Alive() {
		return nil
	}
	err := syscall.Kill(p.PID, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Wait polls until the process is gone or the deadline passes.
func (p Proc) Wait(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for p.Alive() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		// Reap it if it is our child (it is when the same run started it).
		var ws syscall.WaitStatus
		syscall.Wait4(p.PID, &ws, syscall.WNOHANG, nil)
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// children lists the child pids of pid.
func children(pid int) []int {
	var out []int
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// startDetached starts argv in its own session with output to logPath and
// returns without waiting: the process outlives counterctl.
func startDetached(argv []string, logPath string) (Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Proc{}, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Proc{}, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p, err := NewProc(cmd.Process.Pid)
	cmd.Process.Release()
	if err != nil {
		return Proc{}, fmt.Errorf("%s exited at once (see %s): %w", argv[0], logPath, err)
	}
	return p, nil
}
