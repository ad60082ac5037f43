// Package lab runs a local multi-node Debian 12 cluster for counter: one
// systemd-nspawn container per node in its own network namespace, a real
// authoritative DNS server, client namespaces per continent, and continental
// WAN latency from a user-space delay router (package wan).
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Lab is one lab, addressed by its state directory.
type Lab struct {
	StateDir string
	CacheDir string
	Subnet   netip.Prefix
	Topology *Topology
	// Exe is the counterctl binary the delay router runs as (`lab router`).
	Exe string
	Out io.Writer
	Log *slog.Logger

	// DNSSecondaries has every node serve the zone as a Knot secondary once
	// provisioned (the inventory's dns.secondary), and the clients ask the
	// anycast address first: the node nearest them answers.
	DNSSecondaries bool
}

// hostTools are the host commands the lab needs, with their Debian packages.
// ping and curl are what the READMEs' `lab exec` examples run in the client
// namespaces (TestHostToolsCoverDocumentedExec keeps the two lists together).
var hostTools = []struct{ cmd, pkg string }{
	{"debootstrap", "debootstrap"},
	{"systemd-nspawn", "systemd-container"},
	{"nft", "nftables"},
	{"ip", "iproute2"},
	{"ssh", "openssh-client"},
	{"ping", "iputils-ping"},
	{"curl", "curl"},
}

// ErrNotRoot is returned when the lab is driven without root.
var ErrNotRoot = errors.New("counterctl lab needs root (namespaces, containers, nftables): run it with sudo")

// CheckHost makes sure the lab can run here: root, and the host tools (as
// root it installs the missing Debian packages with apt-get).
func CheckHost(ctx context.Context, log *slog.Logger, install bool) error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	var missing []string
	for _, t := range hostTools {
		if _, err := exec.LookPath(t.cmd); err != nil {
			missing = append(missing, t.pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if !install {
		return fmt.Errorf("missing host packages: apt-get install %s", strings.Join(missing, " "))
	}
	log.Info("installing host packages", "packages", missing)
	for _, argv := range [][]string{
		{"apt-get", "update", "-q"},
		append([]string{"apt-get", "install", "-q", "-y", "--no-install-recommends"}, missing...),
	} {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s (install by hand: apt-get install %s): %w: %s",
				strings.Join(argv[:2], " "), strings.Join(missing, " "), err, lastLines(string(out), 5))
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lock takes the state directory's lock for a command that changes the lab.
// Where no lab is up when it is released (never up, just down, or a failed
// up), the lock file goes, with the state directory if this lock made it.
func (l *Lab) lock() (func(), error) {
	_, err := os.Stat(l.StateDir)
	madeDir := errors.Is(err, os.ErrNotExist)
	unlock, err := lockFile(filepath.Join(l.StateDir, "lock"), "the lab in "+l.StateDir)
	if err != nil {
		return nil, err
	}
	return func() {
		if _, err := os.Stat(statePath(l.StateDir)); errors.Is(err, os.ErrNotExist) {
			if err := l.removeLock(madeDir); err != nil && l.Log != nil {
				l.Log.Warn("could not remove the lab's lock", "err", err)
			}
		}
		unlock()
	}, nil
}

// load reads the lab's state.
func (l *Lab) load() (*State, error) { return LoadState(l.StateDir) }

// member finds a member of a running lab, with a helpful error.
func member(st *State, name string, kinds ...string) (Member, error) {
	m, ok := st.Plan.Member(name)
	if ok && (len(kinds) == 0 || contains(kinds, m.Kind)) {
		return m, nil
	}
	var names []string
	for _, m := range st.Plan.Members {
		if len(kinds) == 0 || contains(kinds, m.Kind) {
			names = append(names, m.Name)
		}
	}
	return Member{}, fmt.Errorf("no %s named %q in the lab (have: %s)", strings.Join(kinds, " or "), name, strings.Join(names, ", "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkPath refuses directories nspawn's --overlay syntax cannot carry.
func checkPath(what, p string) error {
	if strings.ContainsAny(p, ":,\\") {
		return fmt.Errorf("%s %q: must not contain ':', ',' or '\\' (systemd-nspawn --overlay syntax)", what, p)
	}
	if !filepath.IsAbs(p) {
		return fmt.Errorf("%s %q must be an absolute path", what, p)
	}
	return nil
}
