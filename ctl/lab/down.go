package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Down removes everything the lab made. With no lab state it says so.
func (l *Lab) Down(ctx context.Context) error {
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := l.load()
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(l.Out, "no lab in %s; nothing to do\n", l.StateDir)
		return nil
	}
	if err != nil {
		return err
	}
	start := time.Now()
	if err := st.down(ctx); err != nil {
		return err
	}
	// The lock goes too (while still held): the lab leaves nothing behind.
	if err := l.removeLock(st.Created.StateDir); err != nil {
		return err
	}
	fmt.Fprintf(l.Out, "lab down in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// down stops the containers (all at once) and the router, then removes the
// network, mounts left under the state directory and the state's files.
func (st *State) down(ctx context.Context) error {
	var errs []error
	var ms []Member
	for _, m := range st.Plan.Containers() {
		if _, ok := st.Containers[m.Name]; ok {
			ms = append(ms, m)
		}
	}
	if err := waitAll(ctx, ms, func(m Member) error { return st.stopContainer(ctx, m) }); err != nil {
		errs = append(errs, err)
	}
	// Every member's, also those a `lab kill` left dead.
	for _, m := range st.Plan.Containers() {
		if err := removeCgroups(m); err != nil {
			errs = append(errs, err)
		}
	}
	if err := st.stopBird(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := st.Router.Signal(syscall.SIGTERM); err != nil {
		errs = append(errs, err)
	}
	if !st.Router.Wait(ctx, 5*time.Second) {
		st.Router.Signal(syscall.SIGKILL)
	}
	errs = append(errs, st.removeResolvs()...)
	errs = append(errs, st.teardownNetwork(ctx)...)
	errs = append(errs, unmountUnder(st.dir)...)
	if len(errs) > 0 {
		// Keep the state so a second `lab down` can finish the job.
		st.Save()
		return errors.Join(errs...)
	}
	for _, p := range []string{"nodes", "ssh", "secrets", "pki", "inventory.yaml", "wan.json", "wan.log", wanBirdConf, wanBirdSock, wanBirdLog, "lab.json"} {
		if err := os.RemoveAll(st.path(p)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches any mount left below dir (nspawn mounts in its own
// mount namespace, so normally there is none).
func unmountUnder(dir string) []error {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return []error{err}
	}
	var errs []error
	prefix := filepath.Clean(dir) + "/"
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) > 1 && strings.HasPrefix(f[1], prefix) {
			if err := unix.Unmount(f[1], unix.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", f[1], err))
			}
		}
	}
	return errs
}
