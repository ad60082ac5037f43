package switchover

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Shell is one node's command line: counterctl's is an SSH connection.
type Shell interface {
	Run(ctx context.Context, argv []string, stdin []byte) (stdout, stderr []byte, err error)
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// Endpoint is how redis-cli reaches one server on the node and logs in.
type Endpoint struct {
	// Args are redis-cli's connection arguments, e.g. -s SOCKET, or
	// --tls --cacert CA --cert CERT --key KEY -h 127.0.0.1 -p PORT.
	Args []string
	User string
	// Password is User's password, or PasswordFile the file on the node
	// that holds it; either goes to redis-cli on stdin (--askpass), never
	// on a command line.
	Password     []byte
	PasswordFile string
}

// CLI is an Asker that runs redis-cli --json on the nodes, as root, so it
// reaches Redis on its unix socket and Sentinel on loopback with the
// node's own certificate: no Redis or Sentinel port opens to the admin.
type CLI struct {
	Shell      func(node string) (Shell, error)
	RedisAt    Endpoint
	SentinelAt Endpoint
}

var _ Asker = (*CLI)(nil)

// Redis runs one command on node's Redis.
func (c *CLI) Redis(ctx context.Context, node string, args ...any) (any, error) {
	return c.run(ctx, node, c.RedisAt, args)
}

// Sentinel runs one command on node's Sentinel.
func (c *CLI) Sentinel(ctx context.Context, node string, args ...any) (any, error) {
	return c.run(ctx, node, c.SentinelAt, args)
}

func (c *CLI) run(ctx context.Context, node string, e Endpoint, args []any) (any, error) {
	sh, err := c.Shell(node)
	if err != nil {
		return nil, err
	}
	argv := append([]string{"redis-cli", "--json", "-2"}, e.Args...)
	var stdin []byte
	if e.User != "" {
		pw := e.Password
		if pw == nil {
			if pw, err = sh.ReadFile(ctx, e.PasswordFile); err != nil {
				return nil, fmt.Errorf("password of %s: %w", e.User, err)
			}
		}
		stdin = append(bytes.TrimRight(pw, "\n"), '\n')
		argv = append(argv, "--user", e.User, "--askpass")
	}
	for _, a := range args {
		argv = append(argv, fmt.Sprint(a))
	}
	stdout, stderr, err := sh.Run(ctx, argv, stdin)
	if err != nil {
		return nil, fmt.Errorf("redis-cli: %w (%s)", err, strings.TrimSpace(string(stderr)))
	}
	// redis-cli goes on after a failed AUTH and says so only on stderr.
	if bytes.Contains(stderr, []byte("AUTH failed")) {
		return nil, fmt.Errorf("redis-cli: %s", strings.TrimSpace(string(stderr)))
	}
	return ParseCLI(stdout)
}

// ErrReply is an error reply from the server (redis-cli printed error:).
var ErrReply = errors.New("error reply")

// ParseCLI reads what redis-cli --json printed: an error reply (error:
// followed by a JSON string), a JSON value, or, for a reply redis-cli
// prints raw (INFO), the text itself.
func ParseCLI(out []byte) (any, error) {
	s := strings.TrimRight(string(out), "\n")
	if msg, ok := strings.CutPrefix(s, "error:"); ok {
		var m string
		if json.Unmarshal([]byte(msg), &m) != nil {
			m = msg
		}
		return nil, fmt.Errorf("%w: %s", ErrReply, m)
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s, nil
	}
	return v, nil
}
