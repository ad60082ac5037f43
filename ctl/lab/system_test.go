package lab

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A recorded process is ours only while pid and start time both match, so a
// recycled pid is never signalled.
func TestProcIdentity(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p, err := NewProc(cmd.Process.Pid)
	if err != nil {
		t.Fatalf("NewProc(%d) = %v", cmd.Process.Pid, err)
	}
	if !p.Alive() {
		t.Fatal("Alive() = false for a running process")
	}
	other := Proc{PID: p.PID, Start: p.Start + 1}
	if other.Alive() {
		t.Error("Alive() = true for the same pid with another start time")
	}
	if err := other.Signal(syscall.SIGKILL); err != nil || !p.Alive() {
		t.Fatalf("Signal on a mismatched start time reached the process (err %v)", err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !p.Wait(context.Background(), 5*time.Second) {
		t.Error("Wait() = false: process still alive 5s after SIGTERM")
	}
	if p.Alive() {
		t.Error("Alive() = true after the process exited (a zombie counts as gone)")
	}
	if (Proc{}).Alive() {
		t.Error("the zero Proc is alive")
	}
}
