package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"al.essio.dev/pkg/shellescape"
	"github.com/pmezard/go-difflib/difflib"

	"counter/provisioning/sshx"
)

// Remote is a Debian host reached over SSH.
type Remote struct {
	name string
	conn Conn
	dry  bool
}

var _ Host = (*Remote)(nil)

// NewRemote returns the host called name (its inventory name) over conn.
func NewRemote(name string, conn Conn) *Remote {
	return &Remote{name: name, conn: conn}
}

// Name returns the host's inventory name.
func (h *Remote) Name() string { return h.name }

// DryRun reports whether this view only describes changes.
func (h *Remote) DryRun() bool { return h.dry }

// Dry returns a view of the same host that describes changes instead of making them.
func (h *Remote) Dry() Host {
	c := *h
	c.dry = true
	return &c
}

// Query runs a read-only command.
func (h *Remote) Query(ctx context.Context, argv ...string) ([]byte, error) {
	out, err := h.conn.Run(ctx, argv, sshx.RunOptions{})
	return out.Stdout, err
}

// Exec runs a command that changes the host, or describes it in dry-run.
func (h *Remote) Exec(ctx context.Context, what string, argv ...string) (*Change, error) {
	c := &Change{What: what}
	if h.dry {
		c.What += ": would run " + shellescape.QuoteCommand(argv)
		return c, nil
	}
	if _, err := h.conn.Run(ctx, argv, sshx.RunOptions{}); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// EnsurePackages installs the named packages that dpkg does not report installed.
func (h *Remote) EnsurePackages(ctx context.Context, names ...string) (*Change, error) {
	missing, err := h.missingPackages(ctx, names)
	if err != nil || len(missing) == 0 {
		return nil, err
	}
	c := &Change{What: "install " + strings.Join(missing, " ")}
	if h.dry {
		return c, nil
	}
	// Wait for a dpkg lock held by unattended-upgrades instead of failing at once.
	apt := []string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y", "-o", "DPkg::Lock::Timeout=300"}
	if _, err := h.conn.Run(ctx, append(apt, "update"), sshx.RunOptions{}); err != nil {
		return nil, fmt.Errorf("apt-get update: %w", err)
	}
	argv := append(append(apt, "install", "--no-install-recommends", "--"), missing...)
	if _, err := h.conn.Run(ctx, argv, sshx.RunOptions{}); err != nil {
		return nil, fmt.Errorf("install %s: %w", strings.Join(missing, " "), err)
	}
	return c, nil
}

func (h *Remote) missingPackages(ctx context.Context, names []string) ([]string, error) {
	argv := append([]string{"dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", "--"}, names...)
	out, err := h.conn.Run(ctx, argv, sshx.RunOptions{})
	// dpkg-query exits 1 when some name is unknown to dpkg; its stdout still lists the rest.
	var xe *sshx.ExitError
	if err != nil && !(errors.As(err, &xe) && xe.Code == 1) {
		return nil, fmt.Errorf("query packages: %w", err)
	}
	installed := map[string]bool{}
	for line := range strings.SplitSeq(string(out.Stdout), "\n") {
		if pkg, status, ok := strings.Cut(line, " "); ok && status == "installed" {
			// Multi-arch packages print as name:arch only when asked; strip it anyway.
			pkg, _, _ = strings.Cut(pkg, ":")
			installed[pkg] = true
		}
	}
	var missing []string
	for _, n := range names {
		if !installed[n] && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// EnsureFile writes f atomically if its content, mode or owner differ.
func (h *Remote) EnsureFile(ctx context.Context, f File) (*Change, error) {
	if f.Owner == "" {
		f.Owner = "root"
	}
	if f.Group == "" {
		f.Group = "root"
	}
	old, exists, err := h.conn.ReadFile(ctx, f.Path)
	if err != nil {
		return nil, err
	}
	var have string
	if exists {
		out, err := h.Query(ctx, "stat", "-c", "%a:%U:%G", "--", f.Path)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", f.Path, err)
		}
		have = strings.TrimSpace(string(out))
	}
	c := DescribeFile(f, old, exists, have)
	if c == nil {
		return nil, nil
	}
	if h.dry {
		return c, nil
	}
	if err := h.conn.WriteFile(ctx, f.Path, f.Content, f.Mode, f.Owner, f.Group); err != nil {
		return nil, err
	}
	return c, nil
}

// ModeString is the file's mode and owner as `stat -c %a:%U:%G` prints them.
func (f File) ModeString() string {
	return fmt.Sprintf("%o:%s:%s", f.Mode.Perm(), f.Owner, f.Group)
}

// DescribeFile says what writing f over a file with content old (if it
// exists) and mode-and-owner have (ModeString's form) changes; nil if nothing.
func DescribeFile(f File, old []byte, exists bool, have string) *Change {
	want := f.ModeString()
	sameContent := exists && bytes.Equal(old, f.Content)
	if sameContent && have == want {
		return nil
	}
	c := &Change{}
	switch {
	case !exists:
		c.What = fmt.Sprintf("create %s (%s)", f.Path, want)
	case sameContent:
		c.What = fmt.Sprintf("set %s to %s (was %s)", f.Path, want, have)
	default:
		c.What = "update " + f.Path
		if have != want {
			c.What += fmt.Sprintf(" and set it to %s (was %s)", want, have)
		}
	}
	if f.Secret {
		c.What += " (secret: content not shown)"
	} else if !sameContent {
		c.Diff = UnifiedDiff(f.Path, old, f.Content, exists)
	}
	return c
}

// UnifiedDiff is the diff from old to new; from /dev/null when the file does not exist.
func UnifiedDiff(path string, old, new []byte, exists bool) string {
	from := path
	if !exists {
		from = "/dev/null"
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(old)), B: difflib.SplitLines(string(new)),
		FromFile: from, ToFile: path, Context: 3,
	})
	if err != nil {
		return fmt.Sprintf("(no diff: %v)", err)
	}
	return d
}

// RestartIfChanged restarts unit when any change happened, like an Ansible handler.
func (h *Remote) RestartIfChanged(ctx context.Context, unit string, changes ...*Change) (*Change, error) {
	var because []string
	for _, c := range changes {
		if c != nil {
			because = append(because, c.What)
		}
	}
	if len(because) == 0 {
		return nil, nil
	}
	return h.Exec(ctx, "restart "+unit+" after: "+strings.Join(because, "; "), "systemctl", "restart", "--", unit)
}
