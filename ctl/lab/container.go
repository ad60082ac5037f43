package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// prepareUpper writes what makes a node itself into its overlay: hostname,
// machine id, its own SSH host key and the lab key as root's authorized key.
// It returns the host key for the lab's known_hosts.
func prepareUpper(upper string, m Member, labKey *sshKey) (*sshKey, error) {
	id, err := machineID()
	if err != nil {
		return nil, err
	}
	hostKey, err := newSSHKey("root@" + m.Name)
	if err != nil {
		return nil, err
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{"etc/hostname", []byte(m.Name + "\n"), 0o644},
		{"etc/hosts", []byte(fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n", m.Address, m.Name)), 0o644},
		{"etc/machine-id", []byte(id + "\n"), 0o444},
		{"etc/ssh/ssh_host_ed25519_key", hostKey.private, 0o600},
		{"etc/ssh/ssh_host_ed25519_key.pub", hostKey.public, 0o644},
		{"root/.ssh/authorized_keys", labKey.public, 0o600},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(upper, f.path), f.data, f.mode); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(filepath.Join(upper, "root/.ssh"), 0o700); err != nil {
		return nil, err
	}
	return hostKey, nil
}

// nspawnArgv boots a member's container on its overlay inside its namespace.
// --register=no and --keep-unit: nspawn must not need systemd on the host.
func nspawnArgv(st *State, m Member) []string {
	lowers := st.Lowers[m.Name]
	base := strings.SplitN(lowers, ":", 2)[0]
	return []string{"systemd-nspawn", "--quiet",
		"--directory=" + base,
		"--overlay=" + lowers + ":" + st.upper(m.Name) + ":/",
		"--boot", "--register=no", "--keep-unit", "--link-journal=no",
		"--capability=CAP_NET_ADMIN",
		"--network-namespace-path=/run/netns/" + m.Netns(),
		"--machine=" + m.Netns(),
		"--resolv-conf=" + resolvConfMode(), "--console=read-only",
	}
}

// resolvConfMode gives nodes the host's upstream resolvers: with
// systemd-resolved the host's own resolv.conf names a loopback stub that a
// node cannot reach.
func resolvConfMode() string {
	if _, err := os.Stat("/run/systemd/resolve/resolv.conf"); err == nil {
		return "copy-uplink"
	}
	return "copy-host"
}

// startContainer boots a member and records the nspawn pid.
func (st *State) startContainer(m Member) error {
	cgroups, err := makeCgroups(m)
	if err != nil {
		return err
	}
	p, err := startDetached(inCgroupsArgv(cgroups, nspawnArgv(st, m)), st.path("nodes", m.Name, "console.log"))
	if err != nil {
		return fmt.Errorf("boot %s: %w", m.Name, err)
	}
	st.Containers[m.Name] = p
	return st.Save()
}

// containerInit is the container's PID 1: nspawn's child.
func containerInit(p Proc) (Proc, bool) {
	if !p.Alive() {
		return Proc{}, false
	}
	for _, c := range children(p.PID) {
		if cp, err := NewProc(c); err == nil {
			return cp, true
		}
	}
	return Proc{}, false
}

// stopContainer shuts a container down cleanly (nspawn turns SIGTERM into a
// systemd poweroff), cutting the power if that takes too long.
func (st *State) stopContainer(ctx context.Context, m Member) error {
	p, ok := st.Containers[m.Name]
	if !ok || !p.Alive() {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if p.Wait(ctx, 8*time.Second) {
		return nil
	}
	if init, ok := containerInit(p); ok {
		init.Signal(syscall.SIGKILL)
	}
	p.Signal(syscall.SIGKILL)
	if !p.Wait(ctx, 5*time.Second) {
		return fmt.Errorf("%s: nspawn pid %d does not exit", m.Name, p.PID)
	}
	return nil
}

// reachable reports whether a TCP port of the address answers within d.
func reachable(ctx context.Context, addr string, port int, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// sshUp reports whether a member's sshd answers on its address, asked from
// inside the member's own network namespace: over its loopback, which every
// node firewall accepts. From the host it cannot tell: once provisioned, a
// replica takes SSH only from the master and the mirror.
func sshUp(ctx context.Context, m Member) bool {
	up := false
	err := inNetns(m.Netns(), func() error {
		up = reachable(ctx, m.Address.String(), 22, time.Second)
		return nil
	})
	return err == nil && up
}

// waitSSH polls a member's sshd until it answers or the deadline passes.
func waitSSH(ctx context.Context, m Member, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !sshUp(ctx, m) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (%s): sshd did not answer within %s", m.Name, m.Address, within)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
