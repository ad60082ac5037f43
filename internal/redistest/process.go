package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"counter/internal/testutil"
)

// Process is one redis-server process owned by a test: started with the
// arguments it was given, tracked by pid, and stopped when the test ends,
// with its log shown if the test failed.
type Process struct {
	tb   testing.TB
	cmd  *exec.Cmd
	log  []string // files to show when the test fails: the server's log, its stdout
	done chan struct{}
}

// Run starts redis-server with args (a configuration file, --options or
// both) in dir and waits until ready returns nil. It skips tb when the
// binary is missing and fails it when the server exits first or is not
// ready in time. logFile is the server's log, shown when tb fails.
// Start is the usual way; Run is for a configuration a test renders itself.
func Run(tb testing.TB, dir, logFile string, ready func(context.Context) error, args ...string) *Process {
	tb.Helper()
	bin := lookBinary(tb)
	p, err := launch(tb, bin, dir, logFile, ready, args)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return p
}

func lookBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		tb.Skipf("SKIPPING: needs a real redis-server at %s (apt-get install redis-server): %v", Binary, err)
	}
	return bin
}

// launch starts the process and waits until ready, killing it if it does
// not get there.
func launch(tb testing.TB, bin, dir, logFile string, ready func(context.Context) error, args []string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a crashed test
	stdout := filepath.Join(dir, "stdout")
	out, err := os.Create(stdout)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{tb: tb, cmd: cmd, log: []string{logFile, stdout}, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(p.cleanup)
	err = testutil.Wait(startDeadline, func(ctx context.Context) error {
		if p.exited() {
			return testutil.Stop(errors.New("exited"))
		}
		actx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return ready(actx)
	})
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("redis-server pid %d not ready: %w\n%s", cmd.Process.Pid, err, p.logTail())
	}
	return p, nil
}

// Pid is the process id, 0 once it has exited.
func (p *Process) Pid() int {
	if p == nil || p.exited() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop shuts the server down with SIGTERM (it saves data if persistence is
// on) and waits for it to exit, then SIGKILL if it takes too long.
func (p *Process) Stop() {
	if p == nil || p.exited() {
		return
	}
	p.tb.Helper()
	pid := p.cmd.Process.Pid
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Process.Signal(syscall.SIGCONT) // in case it was paused
	select {
	case <-p.done:
	case <-time.After(stopDeadline):
		p.tb.Errorf("redistest: pid %d ignored SIGTERM for %s, killing it", pid, stopDeadline)
		p.kill()
	}
}

// Kill ends the server with SIGKILL, as a crash would.
func (p *Process) Kill() {
	p.tb.Helper()
	p.kill()
}

func (p *Process) kill() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Kill() // SIGKILL also ends a paused (SIGSTOPped) process
	<-p.done
}

// Pause stops the process with SIGSTOP: connections stay open but nothing
// answers, like a host lost behind a silent network. Cleanup resumes it.
func (p *Process) Pause() {
	p.tb.Helper()
	p.signal(syscall.SIGSTOP)
}

// Resume continues a paused server with SIGCONT.
func (p *Process) Resume() {
	p.tb.Helper()
	p.signal(syscall.SIGCONT)
}

func (p *Process) signal(sig syscall.Signal) {
	p.tb.Helper()
	if p.exited() {
		p.tb.Fatalf("redistest: %v to a server that is not running", sig)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("redistest: %v to pid %d: %v", sig, p.cmd.Process.Pid, err)
	}
}

func (p *Process) cleanup() {
	if p.tb.Failed() {
		p.tb.Logf("redistest: redis-server pid %d in %s; log tail:\n%s", p.cmd.Process.Pid, p.cmd.Dir, p.logTail())
	}
	p.kill()
}

// logTail returns the last lines of the server's log and output, for
// failure messages.
func (p *Process) logTail() string {
	var parts []string
	for _, f := range p.log {
		b, err := os.ReadFile(f)
		if err != nil || len(b) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		parts = append(parts, filepath.Base(f)+":\n"+strings.Join(lines, "\n"))
	}
	if len(parts) == 0 {
		return "(no log)"
	}
	return strings.Join(parts, "\n")
}
