// Package sshd renders the OpenSSH server drop-in that makes a counter
// node key-only, and the commands that check it before sshd reloads.
//
// Debian's /etc/ssh/sshd_config includes /etc/ssh/sshd_config.d/*.conf
// first, and for most keywords sshd keeps the first value it reads, so
// the drop-in wins over the main file but loses to a drop-in that sorts
// before it (cloud-init writes 50-cloud-init.conf). Hence the 10- prefix,
// and CheckEffective, which reads `sshd -T` to prove our values won.
package sshd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Paths and modes of what the step installs.
const (
	DropInPath = "/etc/ssh/sshd_config.d/10-counter.conf"
	DropInMode = 0o644 // root:root, like Debian's own sshd_config
	MainConfig = "/etc/ssh/sshd_config"
	sshdBin    = "/usr/sbin/sshd"
)

// Params choose the drop-in's one variable.
type Params struct {
	// JumpHost keeps TCP forwarding: replicas take SSH from the master (or
	// the mirror after a failover) only, so counterctl and operators reach
	// them through a direct-tcpip channel of that node. True for the master
	// and the mirror, false for replicas.
	JumpHost bool
}

// settings returns the keyword/value pairs in file order.
func (p Params) settings() [][2]string {
	forwarding := "no"
	if p.JumpHost {
		forwarding = "yes"
	}
	return [][2]string{
		{"PubkeyAuthentication", "yes"},
		{"AuthenticationMethods", "publickey"},
		{"PasswordAuthentication", "no"},
		{"KbdInteractiveAuthentication", "no"},
		{"PermitRootLogin", "prohibit-password"},
		{"MaxAuthTries", "3"},
		{"LoginGraceTime", "20"},
		{"X11Forwarding", "no"},
		{"AllowTcpForwarding", forwarding},
	}
}

// Render returns the drop-in for p; same parameters, same bytes.
func Render(p Params) []byte {
	var b bytes.Buffer
	b.WriteString("# Managed by counterctl provision; local edits are overwritten.\n")
	b.WriteString("# Key-only logins. sshd keeps the first value it reads: this file sorts\n")
	b.WriteString("# early in sshd_config.d so it wins over later drop-ins and sshd_config.\n")
	if p.JumpHost {
		b.WriteString("# TCP forwarding stays on: replicas are reached through this node.\n")
	}
	for _, kv := range p.settings() {
		fmt.Fprintf(&b, "%s %s\n", kv[0], kv[1])
	}
	return b.Bytes()
}

// ValidateArgv checks the whole configuration, drop-ins included; the step
// runs it after writing the drop-in and, if it fails, puts the previous
// drop-in back (or removes the new one) instead of reloading, so a reboot
// or restart never meets a config sshd refuses.
func ValidateArgv() []string {
	return []string{sshdBin, "-t", "-f", MainConfig}
}

// EffectiveArgv prints the configuration sshd would run with; its output
// goes to CheckEffective.
func EffectiveArgv() []string {
	return []string{sshdBin, "-T", "-f", MainConfig}
}

// ReloadArgv makes the running sshd read its configuration; open sessions stay.
func ReloadArgv() []string {
	return []string{"systemctl", "reload", "ssh.service"}
}

// ErrShadowed means sshd would not run with the drop-in's values: an
// earlier drop-in or a missing Include overrides them.
var ErrShadowed = errors.New("sshd does not use counter's settings")

// CheckEffective reads `sshd -T` output and reports every setting of p
// that sshd would not use.
func CheckEffective(out []byte, p Params) error {
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		if _, dup := got[k]; !dup {
			got[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read sshd -T: %w", err)
	}
	if len(got) < 10 {
		return fmt.Errorf("read sshd -T: %d lines, not a configuration dump", len(got))
	}
	var wrong []string
	for _, kv := range p.settings() {
		k := strings.ToLower(kv[0])
		want := strings.ToLower(kv[1])
		// OpenSSH 9.2 (Debian 12) still prints prohibit-password by its old name.
		if v := got[k]; v != want && !(k == "permitrootlogin" && v == "without-password") {
			wrong = append(wrong, fmt.Sprintf("%s is %q, want %q", kv[0], v, kv[1]))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%w: %s", ErrShadowed, strings.Join(wrong, "; "))
	}
	return nil
}
