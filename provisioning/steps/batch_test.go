package steps

import (
	"context"
	"errors"
	"os/exec"
	"testing"

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
