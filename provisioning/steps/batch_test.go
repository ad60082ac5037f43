package steps

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/sshx"
)

// localHost runs queries on this machine, to run batchScript in a real bash.
type localHost struct {
	host.Host
	runs int
}

func (l *localHost) Name() string { return "local" }

func (l *localHost) Query(ctx context.Context, argv ...string) ([]byte, error) {
	l.runs++
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		return out, &sshx.ExitError{Host: "local", Argv: argv, Code: xe.ExitCode()}
	}
	return out, err
}

func TestBatchScriptInBash(t *testing.T) {
	testutil.NeedTool(t, "bash", "bash") // Debian nodes always have it
	reads := [][]string{
		{"printf", "%s", "two\nlines"},
		{"sh", "-c", "exit 3"},
		{"printf", ""},
		{"sh", "-c", `printf '%s|%s' "$1" "$2"`, "sh", "it's", "a $b; `c`"},
	}
	tests := []struct {
		name     string
		argv     []string
		want     string
		wantCode int
	}{
		{"output with a newline", reads[0], "two\nlines", 0},
		{"exit status kept", reads[1], "", 3},
		{"empty output", reads[2], "", 0},
		{"arguments reach the command unchanged", reads[3], "it's|a $b; `c`", 0},
	}
	l := &localHost{}
	b := NewBatched(l, reads, nil)
	for _, tt := range tests {
		out, err := b.Query(context.Background(), tt.argv...)
		code := 0
		var xe *sshx.ExitError
		if errors.As(err, &xe) {
			code = xe.Code
		} else if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(out) != tt.want || code != tt.wantCode {
			t.Errorf("%s: Query(%q) = %q, exit %d; want %q, exit %d", tt.name, tt.argv, out, code, tt.want, tt.wantCode)
		}
	}
	if l.runs != 1 {
		t.Errorf("the host ran %d commands, want 1 batch", l.runs)
	}
	if _, err := b.Query(context.Background(), "true"); err != nil || l.runs != 2 {
		t.Errorf("a read outside the batch: err %v, runs %d; want it asked of the host", err, l.runs)
	}
}

// stalledBatch is a host whose batch hangs until released; other reads
// answer at once.
type stalledBatch struct {
	host.Host
	started, release chan struct{}
}

func (s *stalledBatch) Name() string { return "stalled" }

func (s *stalledBatch) Query(ctx context.Context, argv ...string) ([]byte, error) {
	if len(argv) > 2 && argv[2] == batchScript {
		close(s.started)
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []byte("0 \n"), nil
	}
	return []byte("direct"), nil
}

// A read outside the batch must not queue behind a slow fetch: provision
// asks who is master now while every node's batch is in flight.
func TestReadOutsideBatchDoesNotWaitForIt(t *testing.T) {
	s := &stalledBatch{started: make(chan struct{}), release: make(chan struct{})}
	b := NewBatched(s, [][]string{{"cat", "/etc/hostname"}}, nil)
	fetched := make(chan struct{})
	go func() { b.Prefetch(t.Context()); close(fetched) }()
	<-s.started

	type result struct {
		out []byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		out, err := b.Query(t.Context(), "redis-cli", "ROLE")
		got <- result{out, err}
	}()
	select {
	case r := <-got:
		if r.err != nil || string(r.out) != "direct" {
			t.Fatalf("read outside the batch during a fetch: %q, %v; want the host's answer", r.out, r.err)
		}
	case <-time.After(30 * time.Second):
		close(s.release) // let the queued read through, so the test ends
		t.Fatal("a read outside the batch waited for the batch's fetch")
	}
	select {
	case <-fetched:
		t.Fatal("the fetch finished before it was released")
	default:
	}

	close(s.release)
	<-fetched
	if out, err := b.Query(t.Context(), "cat", "/etc/hostname"); err != nil || string(out) != "" {
		t.Errorf("batched read: %q, %v; want the batch's empty answer", out, err)
	}
}
