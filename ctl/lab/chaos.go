package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"al.essio.dev/pkg/shellescape"
)

// Kill cuts the power of one or more nodes, as nearly at once as the
// kernel allows: every container's PID 1 gets SIGKILL before the first is
// waited for (`lab kill master mirror` is one data-centre outage, not two).
func (l *Lab) Kill(ctx context.Context, names ...string) error {
	return l.changeAll(ctx, names, []string{KindNode, KindDNS}, func(st *State, ms []Member) error {
		var alive []Member
		for _, m := range ms {
			if st.Containers[m.Name].Alive() {
				alive = append(alive, m)
			} else {
				fmt.Fprintf(l.Out, "%s is not running; nothing changed\n", m.Name)
			}
		}
		if err := st.killContainers(ctx, alive); err != nil {
			return err
		}
		for _, m := range alive {
			fmt.Fprintf(l.Out, "%s killed\n", m.Name)
		}
		return nil
	})
}

// Start boots stopped nodes again on their existing overlays, all at once,
// and waits until each one's sshd answers.
func (l *Lab) Start(ctx context.Context, names ...string) error {
	return l.changeAll(ctx, names, []string{KindNode, KindDNS}, func(st *State, ms []Member) error {
		var down []Member
		for _, m := range ms {
			if st.Containers[m.Name].Alive() {
				fmt.Fprintf(l.Out, "%s is running; nothing changed\n", m.Name)
				continue
			}
			if err := st.startContainer(m); err != nil {
				return err
			}
			down = append(down, m)
		}
		// sshd is asked over the node's own loopback, which a partition
		// does not cut.
		if err := waitAll(ctx, down, func(m Member) error { return waitSSH(ctx, m, 90*time.Second) }); err != nil {
			return err
		}
		for _, m := range down {
			fmt.Fprintf(l.Out, "%s started\n", m.Name)
		}
		return nil
	})
}

// Partition cuts members off from the rest of the lab (other members,
// clients, dns, the outside); each keeps running and the host keeps its
// management path to it.
func (l *Lab) Partition(ctx context.Context, names ...string) error {
	return l.changeAll(ctx, names, nil, func(st *State, ms []Member) error {
		for _, m := range ms {
			st.Partitioned[m.Name] = true
		}
		if err := st.applyPartitions(ctx); err != nil {
			return err
		}
		for _, m := range ms {
			fmt.Fprintf(l.Out, "%s partitioned\n", m.Name)
		}
		return st.Save()
	})
}

// Heal ends the partition of the named members, or of every member when
// names is empty.
func (l *Lab) Heal(ctx context.Context, names ...string) error {
	heal := func(st *State, ms []Member) error {
		var healed []string
		for _, m := range ms {
			if st.Partitioned[m.Name] {
				healed = append(healed, m.Name)
			}
			delete(st.Partitioned, m.Name)
		}
		if err := st.applyPartitions(ctx); err != nil {
			return err
		}
		for _, n := range healed {
			fmt.Fprintf(l.Out, "%s healed\n", n)
		}
		return st.Save()
	}
	if len(names) > 0 {
		return l.changeAll(ctx, names, nil, heal)
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := l.load()
	if err != nil {
		return err
	}
	return heal(st, st.Plan.Members)
}

// changeAll runs fn on the named members of the running lab, under its
// lock; an unknown name changes nothing.
func (l *Lab) changeAll(ctx context.Context, names []string, kinds []string, fn func(*State, []Member) error) error {
	if len(names) == 0 {
		return fmt.Errorf("no member named")
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := l.load()
	if err != nil {
		return err
	}
	var ms []Member
	seen := map[string]bool{}
	for _, n := range names {
		m, err := member(st, n, kinds...)
		if err != nil {
			return err
		}
		if !seen[n] {
			ms = append(ms, m)
			seen[n] = true
		}
	}
	return fn(st, ms)
}

// killContainers sends SIGKILL to every container's PID 1 first, then waits
// for each nspawn to exit: the containers die within the same instant.
func (st *State) killContainers(ctx context.Context, ms []Member) error {
	for _, m := range ms {
		if init, ok := containerInit(st.Containers[m.Name]); ok {
			if err := init.Signal(syscall.SIGKILL); err != nil {
				return fmt.Errorf("kill %s: %w", m.Name, err)
			}
		}
	}
	err := waitAll(ctx, ms, func(m Member) error {
		p := st.Containers[m.Name]
		if !p.Wait(ctx, 10*time.Second) {
			if err := p.Signal(syscall.SIGKILL); err != nil {
				return err
			}
			p.Wait(ctx, 5*time.Second)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range ms {
		delete(st.Containers, m.Name)
	}
	if err := st.Save(); err != nil {
		return err
	}
	return waitAll(ctx, ms, func(m Member) error { return removeCgroups(m) })
}

// SSHCommand is `ssh` to a node as root with the lab key, verifying its host
// key against the lab's known_hosts. The remote command is quoted so each
// argument arrives as one word.
func (l *Lab) SSHCommand(ctx context.Context, name string, args []string) (*exec.Cmd, error) {
	st, err := l.load()
	if err != nil {
		return nil, err
	}
	m, err := member(st, name, KindNode, KindDNS)
	if err != nil {
		return nil, err
	}
	opts := []string{"-i", st.KeyFile(), "-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + st.KnownHosts(),
		"-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"}
	argv := append([]string{}, opts...)
	// As the design asks, replicas are reached through the master: once
	// provisioned, their firewall takes SSH from the master and mirror only.
	if m.Role == "replica" {
		if via, ok := jumpOf(st); ok {
			// ssh expands %-tokens in ProxyCommand, then hands it to sh: double
			// any % in our words and quote every one.
			jump := []string{"ssh"}
			for _, o := range opts {
				jump = append(jump, strings.ReplaceAll(o, "%", "%%"))
			}
			jump = append(jump, "-W", "[%h]:%p", "root@"+via.Address.String())
			argv = append(argv, "-o", "ProxyCommand="+shellescape.QuoteCommand(jump))
		}
	}
	argv = append(argv, "root@"+m.Address.String())
	if len(args) > 0 {
		argv = append(argv, "--", shellescape.QuoteCommand(args))
	}
	return exec.CommandContext(ctx, "ssh", argv...), nil
}

// ExecCommand runs argv inside a member's network namespace (a client's, to
// measure from that continent), trusting the lab's CA (clientEnv).
func (l *Lab) ExecCommand(ctx context.Context, name string, argv []string) (*exec.Cmd, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("no command given: lab exec %s -- CMD [ARG...]", name)
	}
	st, err := l.load()
	if err != nil {
		return nil, err
	}
	m, err := member(st, name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/run/netns/" + m.Netns()); err != nil {
		return nil, fmt.Errorf("%s has no network namespace: %w", name, err)
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", m.Netns()}, argv...)...)
	cmd.Env = st.clientEnv(os.Environ())
	return cmd, nil
}

// jumpOf is the node replicas are reached through: the master, or the
// mirror while the master is killed (a chaos run looks inside the
// replicas exactly then).
func jumpOf(st *State) (Member, bool) {
	for _, role := range []string{"master", "mirror"} {
		for _, m := range st.Plan.OfKind(KindNode) {
			if _, running := st.Containers[m.Name]; m.Role == role && running {
				return m, true
			}
		}
	}
	return Member{}, false
}
