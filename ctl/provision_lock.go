//go:build !node

package ctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"counter/provisioning/sshx"
)

// runLock keeps two provision runs off one node at a time, like k0sctl's
// lock: a directory in /run (gone after a reboot) holding who took it. A
// lock older than ttl is taken over, so a run that died frees its nodes.
type runLock struct {
	dir   string
	ttl   time.Duration
	owner string
}

const defaultLockDir = "/run/counterctl-provision.lock"

// lockScript takes the lock $1 for owner $2, taking over one older than
// $3 seconds; when it is held it prints the holder and exits 5.
const lockScript = `take() { mkdir -m 0700 -- "$1" 2>/dev/null && printf '%s\n' "$2" >"$1/owner"; }
take "$@" && exit 0
age=$(( $(date +%s) - $(stat -c %Y -- "$1" 2>/dev/null || date +%s) ))
if [ "$age" -gt "$3" ]; then rm -rf -- "$1"; take "$@" && exit 0; fi
printf '%s (for %ss)\n' "$(cat -- "$1/owner" 2>/dev/null)" "$age"
exit 5`

// unlockScript removes the lock $1 only if owner $2 still holds it.
const unlockScript = `[ "$(cat -- "$1/owner" 2>/dev/null)" = "$2" ] && rm -rf -- "$1"; true`

// errLocked means another run holds a node.
var errLocked = errors.New("another provision run holds this node")

func newRunLock(now time.Time) runLock {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	hostname, _ := os.Hostname()
	return runLock{dir: defaultLockDir, ttl: time.Hour,
		owner: fmt.Sprintf("%s@%s pid %d since %s", who, hostname, os.Getpid(), now.UTC().Format(time.RFC3339))}
}

// acquire locks every client in parallel; errs[i] is non-nil where the
// lock was not taken.
func (l runLock) acquire(ctx context.Context, clients []*sshx.Client) []error {
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			argv := []string{"sh", "-c", lockScript, "sh", l.dir, l.owner, strconv.Itoa(int(l.ttl.Seconds()))}
			out, err := c.Run(ctx, argv, sshx.RunOptions{Timeout: time.Minute})
			var xe *sshx.ExitError
			switch {
			case errors.As(err, &xe) && xe.Code == 5:
				errs[i] = fmt.Errorf("%w: %s; wait for it, or if it died remove %s on the node", errLocked,
					strings.TrimSpace(string(out.Stdout)), l.dir)
			case err != nil:
				errs[i] = fmt.Errorf("lock %s: %w", l.dir, err)
			}
		}()
	}
	wg.Wait()
	return errs
}

// release unlocks the clients whose lock this run took.
func (l runLock) release(clients []*sshx.Client, taken []error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, c := range clients {
		if c == nil || taken[i] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = c.Run(ctx, []string{"sh", "-c", unlockScript, "sh", l.dir, l.owner}, sshx.RunOptions{})
		}()
	}
	wg.Wait()
}
