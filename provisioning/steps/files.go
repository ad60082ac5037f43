package steps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"counter/provisioning/host"
	"counter/provisioning/sshx"
)

// readScript prints a file, or exits 3 if it does not exist, so a missing
// file is told apart from an unreadable one. The path is an argument,
// never part of the script.
const readScript = `if [ -e "$1" ]; then exec cat -- "$1"; fi; exit 3`

func readArgv(path string) []string { return []string{"sh", "-c", readScript, "sh", path} }

// statArgv prints mode:owner:group of path, or nothing if it is missing.
func statArgv(path string) []string {
	return []string{"sh", "-c", `stat -c %a:%U:%G -- "$1" 2>/dev/null || true`, "sh", path}
}

// unitArgv prints whether unit is enabled and active; the systemctl
// commands exit non-zero for "no", the words decide.
func unitArgv(unit string) []string {
	return []string{"sh", "-c", `systemctl is-enabled -- "$1" 2>/dev/null; systemctl is-active -- "$1" 2>/dev/null; true`, "sh", unit}
}

// readFile returns a file's content and whether it exists (read as root).
func readFile(ctx context.Context, h host.Host, path string) ([]byte, bool, error) {
	out, err := h.Query(ctx, readArgv(path)...)
	var xe *sshx.ExitError
	if errors.As(err, &xe) && xe.Code == 3 {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return out, true, nil
}

// ensureDir makes dir exist with mode and owner.
func ensureDir(ctx context.Context, h host.Host, dir string, mode fs.FileMode, owner, group string) (*host.Change, error) {
	want := fmt.Sprintf("%o:%s:%s", mode.Perm(), owner, group)
	out, err := h.Query(ctx, statArgv(dir)...)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", dir, err)
	}
	have := strings.TrimSpace(string(out))
	if sameDirMode(have, want) {
		return nil, nil
	}
	what := fmt.Sprintf("create %s (%s)", dir, want)
	if have != "" {
		what = fmt.Sprintf("set %s to %s (was %s)", dir, want, have)
	}
	return h.Exec(ctx, what, "install", "-d", "-m", fmt.Sprintf("%04o", mode.Perm()), "-o", owner, "-g", group, "--", dir)
}

// unitState is what systemctl says about a unit: enabled and active.
func unitState(ctx context.Context, h host.Host, unit string) (enabled, active bool, err error) {
	out, err := h.Query(ctx, unitArgv(unit)...)
	if err != nil {
		return false, false, fmt.Errorf("state of %s: %w", unit, err)
	}
	f := strings.Fields(string(out))
	return len(f) > 0 && f[0] == "enabled", len(f) > 1 && f[1] == "active", nil
}

// ensureRunning enables unit and starts it if it is not running; a running
// unit is restarted when any of changes happened.
func ensureRunning(ctx context.Context, h host.Host, unit string, changes ...*host.Change) ([]*host.Change, error) {
	enabled, active, err := unitState(ctx, h, unit)
	if err != nil {
		return nil, err
	}
	var out []*host.Change
	if !enabled {
		c, err := h.Exec(ctx, "enable "+unit, "systemctl", "enable", "--quiet", "--", unit)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if !active {
		c, err := h.Exec(ctx, "start "+unit, "systemctl", "start", "--", unit)
		return append(out, c), err
	}
	c, err := h.RestartIfChanged(ctx, unit, changes...)
	return append(out, c), err
}

// sameDirMode compares stat's mode:owner:group of a directory with want,
// ignoring the setgid bit new directories inherit under /etc/redis
// (Debian's is 2770), which install -d neither sets nor clears.
func sameDirMode(have, want string) bool {
	hm, hrest, ok1 := strings.Cut(have, ":")
	wm, wrest, ok2 := strings.Cut(want, ":")
	if !ok1 || !ok2 || hrest != wrest {
		return false
	}
	h, err1 := strconv.ParseUint(hm, 8, 32)
	w, err2 := strconv.ParseUint(wm, 8, 32)
	return err1 == nil && err2 == nil && h&^0o2000 == w
}
