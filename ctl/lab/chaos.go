package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
)

// Kill cuts a node's power.
func (l *Lab) Kill(ctx context.Context, name string) error {
	return l.change(ctx, name, []string{KindNode, KindDNS}, func(st *State, m Member) error {
		if !st.Containers[m.Name].Alive() {
			fmt.Fprintf(l.Out, "%s is not running; nothing changed\n", m.Name)
			return nil
		}
		if err := st.killContainer(ctx, m); err != nil {
			return err
		}
		fmt.Fprintf(l.Out, "%s killed\n", m.Name)
		return nil
	})
}

// Start boots a stopped node again on its existing overlay.
func (l *Lab) Start(ctx context.Context, name string) error {
	return l.change(ctx, name, []string{KindNode, KindDNS}, func(st *State, m Member) error {
		if st.Containers[m.Name].Alive() {
			fmt.Fprintf(l.Out, "%s is running; nothing changed\n", m.Name)
			return nil
		}
		if err := st.startContainer(m); err != nil {
			return err
		}
		if !st.Partitioned[m.Name] {
			if err := waitSSH(ctx, m, 90*time.Second); err != nil {
				return err
			}
		}
		fmt.Fprintf(l.Out, "%s started\n", m.Name)
		return nil
	})
}

// Partition cuts every link of a member; it keeps running.
func (l *Lab) Partition(ctx context.Context, name string) error {
	return l.change(ctx, name, nil, func(st *State, m Member) error {
		if err := st.setLink(ctx, m, false); err != nil {
			return err
		}
		st.Partitioned[m.Name] = true
		fmt.Fprintf(l.Out, "%s partitioned\n", m.Name)
		return st.Save()
	})
}

// Heal restores a member's links, or every member's when name is empty.
func (l *Lab) Heal(ctx context.Context, name string) error {
	heal := func(st *State, m Member) error {
		if err := st.setLink(ctx, m, true); err != nil {
			return err
		}
		if st.Partitioned[m.Name] {
			fmt.Fprintf(l.Out, "%s healed\n", m.Name)
		}
		delete(st.Partitioned, m.Name)
		return st.Save()
	}
	if name != "" {
		return l.change(ctx, name, nil, heal)
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
	for _, m := range st.Plan.Members {
		if err := heal(st, m); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) change(ctx context.Context, name string, kinds []string, fn func(*State, Member) error) error {
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := l.load()
	if err != nil {
		return err
	}
	m, err := member(st, name, kinds...)
	if err != nil {
		return err
	}
	return fn(st, m)
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
	// provisioned, their firewall takes SSH from the master (and mirror) only.
	if m.Role == "replica" {
		if master, ok := masterOf(st.Plan); ok {
			// ssh expands %-tokens in ProxyCommand, then hands it to sh: double
			// any % in our words and quote every one.
			jump := []string{"ssh"}
			for _, o := range opts {
				jump = append(jump, strings.ReplaceAll(o, "%", "%%"))
			}
			jump = append(jump, "-W", "[%h]:%p", "root@"+master.Address.String())
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

// masterOf is the lab node whose role is master.
func masterOf(p *Plan) (Member, bool) {
	for _, m := range p.OfKind(KindNode) {
		if m.Role == "master" {
			return m, true
		}
	}
	return Member{}, false
}
