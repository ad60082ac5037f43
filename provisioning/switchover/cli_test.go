package switchover_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/switchover"
)

// localShell runs commands on this machine, standing in for a node's SSH
// connection; the placeholders SOCKET and SENTINEL_PORT become that node's.
type localShell struct{ socket, sentinel string }

var _ switchover.Shell = localShell{}

func (l localShell) Run(ctx context.Context, argv []string, stdin []byte) ([]byte, []byte, error) {
	argv = slices.Clone(argv)
	for i, a := range argv {
		switch a {
		case "SOCKET":
			argv[i] = l.socket
		case "SENTINEL_PORT":
			argv[i] = l.sentinel
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &errb
	err := cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

func (localShell) ReadFile(_ context.Context, path string) ([]byte, error) { return os.ReadFile(path) }

func (l *lab) cli(t *testing.T) *switchover.CLI {
	testutil.NeedTool(t, "redis-cli", "redis-tools")
	return &switchover.CLI{
		Shell: func(node string) (switchover.Shell, error) {
			s, ok := l.servers[node]
			if !ok {
				return nil, fmt.Errorf("no node %s", node)
			}
			return localShell{socket: s.Socket(), sentinel: portOf(l.sentinels[node].Addr())}, nil
		},
		RedisAt:    switchover.Endpoint{Args: []string{"-s", "SOCKET"}},
		SentinelAt: switchover.Endpoint{Args: []string{"-h", "127.0.0.1", "-p", "SENTINEL_PORT"}},
	}
}

func TestCLILogsInAndReadsReplies(t *testing.T) {
	testutil.NeedTool(t, "redis-cli", "redis-tools")
	const pw = "a-password-of-20-chars"
	s := redistest.Start(t, redistest.WithUnixSocket(), redistest.WithUser("admin", pw),
		redistest.WithArgs("--user", "default", "off", "--user", "admin", "on", ">"+pw, "~*", "&*", "+@all"))
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	testutil.WriteFile(t, good, []byte(pw+"\n"), 0o600)
	testutil.WriteFile(t, bad, []byte("wrong\n"), 0o600)
	cli := func(file string) *switchover.CLI {
		return &switchover.CLI{
			Shell:   func(string) (switchover.Shell, error) { return localShell{socket: s.Socket()}, nil },
			RedisAt: switchover.Endpoint{Args: []string{"-s", "SOCKET"}, User: "admin", PasswordFile: file},
		}
	}
	ctx := context.Background()

	v, err := cli(good).Redis(ctx, "n", "CONFIG", "GET", "replica-priority")
	if err != nil || fmt.Sprint(v) != "[replica-priority 100]" {
		t.Errorf("CONFIG GET = %v, %v; want [replica-priority 100]", v, err)
	}
	v, err = cli(good).Redis(ctx, "n", "INFO", "replication")
	if str, _ := v.(string); err != nil || !strings.Contains(str, "role:master") {
		t.Errorf("INFO = %q, %v; want the INFO text", v, err)
	}
	if _, err := cli(good).Redis(ctx, "n", "NO-SUCH-COMMAND"); !errors.Is(err, switchover.ErrReply) || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: err %v, want ErrReply with the server's message", err)
	}
	if _, err := cli(bad).Redis(ctx, "n", "PING"); err == nil || !strings.Contains(err.Error(), "AUTH failed") {
		t.Errorf("wrong password: err %v, want AUTH failed", err)
	}
}
