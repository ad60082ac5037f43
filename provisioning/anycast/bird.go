package anycast

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultBirdSocket is where Debian's bird2 listens for birdc.
const DefaultBirdSocket = "/run/bird/bird.ctl"

// DefaultProtocol is the BIRD static protocol that holds the anycast /32;
// the provisioned bird.conf names it and starts it disabled, so a BIRD that
// (re)starts announces nothing until the announcer says so.
const DefaultProtocol = "anycast"

// Bird speaks BIRD's control protocol (what birdc speaks) on its Unix socket.
type Bird struct {
	Socket  string
	Timeout time.Duration // per command; default 2s
}

// ErrBird is a BIRD reply with an error code (8xxx runtime, 9xxx parse).
var ErrBird = errors.New("bird refused")

// Command sends one CLI command and returns its reply lines, without codes.
func (b Bird) Command(ctx context.Context, cmd string) ([]string, error) {
	if strings.ContainsAny(cmd, "\r\n") {
		return nil, fmt.Errorf("bird command %q: a newline would start another command", cmd)
	}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", b.Socket)
	if err != nil {
		return nil, fmt.Errorf("bird control socket: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	r := bufio.NewReader(c)
	// The greeting: "0001 BIRD 2.0.12 ready."
	if _, err := readReply(r); err != nil {
		return nil, fmt.Errorf("bird greeting: %w", err)
	}
	if _, err := fmt.Fprintf(c, "%s\n", cmd); err != nil {
		return nil, fmt.Errorf("bird %q: %w", cmd, err)
	}
	lines, err := readReply(r)
	if err != nil {
		return lines, fmt.Errorf("bird %q: %w", cmd, err)
	}
	return lines, nil
}

// readReply reads one reply: lines "DDDD-text" (more follow), " text" (a
// continuation) and a last "DDDD text". Codes 8xxx and 9xxx are errors.
func readReply(r *bufio.Reader) ([]string, error) {
	var lines []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return lines, err
		}
		l = strings.TrimRight(l, "\n")
		if strings.HasPrefix(l, " ") {
			lines = append(lines, l[1:])
			continue
		}
		if len(l) < 5 || (l[4] != '-' && l[4] != ' ') {
			return lines, fmt.Errorf("unexpected reply line %q", l)
		}
		code, text := l[:4], l[5:]
		if text != "" {
			lines = append(lines, text)
		}
		if code[0] == '8' || code[0] == '9' {
			return lines, fmt.Errorf("%w: %s %s", ErrBird, code, text)
		}
		if l[4] == ' ' {
			return lines, nil
		}
	}
}

// SetProtocol enables or disables a protocol: for the static protocol that
// holds the /32, that announces or withdraws it on every BGP session.
// Asking for the state it already has is fine ("already enabled").
func (b Bird) SetProtocol(ctx context.Context, name string, enabled bool) error {
	verb := "disable"
	if enabled {
		verb = "enable"
	}
	if !validName(name) {
		return fmt.Errorf("bird protocol name %q: want letters, digits and _", name)
	}
	_, err := b.Command(ctx, verb+" "+name)
	return err
}

// ProtocolUp reports whether a protocol's state is "up" (show protocols).
func (b Bird) ProtocolUp(ctx context.Context, name string) (bool, error) {
	if !validName(name) {
		return false, fmt.Errorf("bird protocol name %q: want letters, digits and _", name)
	}
	lines, err := b.Command(ctx, "show protocols "+name)
	if err != nil {
		return false, err
	}
	for _, l := range lines {
		f := strings.Fields(l)
		// Name Proto Table State Since Info
		if len(f) >= 4 && f[0] == name {
			return f[3] == "up", nil
		}
	}
	return false, fmt.Errorf("bird show protocols %s: no such protocol in %q", name, lines)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
