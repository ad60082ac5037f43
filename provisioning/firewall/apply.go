package firewall

import (
	"strconv"
	"time"
)

// Where the ruleset lives on a node. Debian's nftables.service loads
// ConfPath at boot; EnsureInclude makes it include IncludeGlob, so our file
// is loaded after the admin's own rules (and after their `flush ruleset`)
// and `systemctl reload nftables` keeps it.
const (
	ConfPath    = "/etc/nftables.conf"
	IncludeGlob = "/etc/nftables.d/*.nft"
	LivePath    = "/etc/nftables.d/counter.nft"
	// StateDir holds the staged ruleset and the rollback snapshot while
	// an apply waits for confirmation; it is outside /etc/nftables.d so
	// no include glob ever loads them.
	StateDir      = "/var/lib/counter-firewall"
	RollbackUnit  = "counter-fw-rollback"
	RollbackAfter = 60 * time.Second
	nftBin        = "/usr/sbin/nft"
	liveMode      = "0644"
	stateDirMode  = "0700"
	stagedName    = "new.nft"
	rollbackName  = "rollback.nft"
)

// Command is one command a step runs on the node, as argv.
type Command struct {
	What string // for reports, e.g. "arm firewall rollback in 60s"
	Argv []string
	// MayFail marks clean-up of what may not exist: its exit status is ignored.
	MayFail bool
}

// Layout says where a Plan works; the zero value is the production layout.
// Tests point it at a temporary directory and a unit name of their own.
type Layout struct {
	Live, StateDir string
	Unit           string
	After          time.Duration
}

func (l Layout) withDefaults() Layout {
	if l.Live == "" {
		l.Live = LivePath
	}
	if l.StateDir == "" {
		l.StateDir = StateDir
	}
	if l.Unit == "" {
		l.Unit = RollbackUnit
	}
	if l.After <= 0 {
		l.After = RollbackAfter
	}
	return l
}

// Plan is a safe apply of a rendered ruleset. The caller runs, in order
// and stopping at the first failing command (unless MayFail):
//
//  1. Prepare.
//  2. Upload Render's output to Staged (root:root 0600).
//  3. Apply, over the existing SSH connection: validate the staged file
//     with `nft -c`, snapshot the live table to the rollback file, arm a
//     systemd timer that loads the snapshot after Layout.After, load the
//     staged file. If the new rules cut this session, the timer restores
//     the old ones and, since nothing was promoted, a reboot loads the old
//     file too.
//  4. Confirm, over a NEW SSH connection: a new TCP connection (for a
//     replica, a new direct-tcpip channel through the master), whose
//     handshake proves the new rules let the operator in; the old session
//     survives as an established flow whatever the rules say. Its first command fails if the rollback already
//     ran: report that as "rolled back". Then the staged file becomes
//     Live, is loaded again (so disk and kernel agree even if the timer
//     fired in between), nftables.service is enabled for boot, and the
//     state files are removed.
//  5. Ensure ConfPath includes IncludeGlob (EnsureInclude; keep its mode,
//     0755 on Debian).
//
// If step 3 fails after the timer is armed, the caller may run Cancel, or
// leave it: the snapshot restores what was there. Plain nftables.service
// is enabled but never started: starting it would run Debian's
// `flush ruleset` and wipe rules other software loaded at run time.
//
// A step may skip the plan when LivePath already holds the rendered bytes
// and StatusArgv succeeds (the table is loaded).
type Plan struct {
	Staged                  string
	Prepare, Apply, Confirm []Command
	Cancel                  []Command
}

// ApplyPlan returns the commands that apply a ruleset safely within l.
func ApplyPlan(l Layout) Plan {
	l = l.withDefaults()
	staged := l.StateDir + "/" + stagedName
	rollback := l.StateDir + "/" + rollbackName
	timer := l.Unit + ".timer"
	after := strconv.Itoa(int(l.After.Seconds())) + "s"
	return Plan{
		Staged: staged,
		Prepare: []Command{
			{What: "create " + l.StateDir, Argv: []string{"install", "-d", "-m", stateDirMode, "-o", "root", "-g", "root", l.StateDir}},
		},
		Apply: []Command{
			{What: "check the new firewall rules", Argv: []string{nftBin, "-c", "-f", staged}},
			// A rollback unit that failed earlier still holds the name.
			{What: "clear a failed firewall rollback", Argv: []string{"systemctl", "reset-failed", l.Unit + ".service", timer}, MayFail: true},
			{What: "save the current firewall table for rollback", Argv: snapshotArgv(rollback)},
			// Fails while an earlier apply still waits for its rollback:
			// the rules are then not touched. A fired timer unloads
			// (RemainAfterElapse=no, systemd-run's default for transient
			// timers, said here because Confirm relies on it).
			{What: "arm firewall rollback in " + after, Argv: []string{"systemd-run", "--quiet", "--unit=" + l.Unit,
				"--description=Restore the counter firewall unless the apply is confirmed",
				"--on-active=" + after,
				"--timer-property=AccuracySec=1s",
				"--timer-property=RemainAfterElapse=no",
				nftBin, "-f", rollback}},
			{What: "load the new firewall rules", Argv: []string{nftBin, "-f", staged}},
		},
		Confirm: []Command{
			{What: "cancel firewall rollback", Argv: []string{"systemctl", "stop", timer}},
			{What: "install " + l.Live, Argv: []string{"install", "-D", "-m", liveMode, "-o", "root", "-g", "root", staged, l.Live}},
			{What: "load " + l.Live, Argv: []string{nftBin, "-f", l.Live}},
			{What: "enable nftables.service at boot", Argv: []string{"systemctl", "enable", "--quiet", "nftables.service"}},
			{What: "remove firewall staging files", Argv: []string{"rm", "-f", staged, rollback}},
		},
		Cancel: []Command{
			{What: "cancel firewall rollback", Argv: []string{"systemctl", "stop", timer}, MayFail: true},
			{What: "restore the previous firewall rules", Argv: []string{nftBin, "-f", rollback}},
			{What: "remove firewall staging files", Argv: []string{"rm", "-f", staged, rollback}},
		},
	}
}

// snapshotArgv writes a file that restores our table as it is now: its
// listing after create-and-delete lines, or only those lines (removing the
// table) when there is none. The script is constant; the path and table
// arrive as arguments, never inside it.
func snapshotArgv(path string) []string {
	const script = `set -e
{
	printf 'table inet %s\ndelete table inet %s\n' "$2" "$2"
	` + nftBin + ` -s list table inet "$2" 2>/dev/null || true
} >"$1.tmp"
mv -f "$1.tmp" "$1"`
	return []string{"sh", "-c", script, "sh", path, Table}
}

// StatusArgv lists the drop counter as JSON (nft -j); ParseDropped reads it.
func StatusArgv() []string {
	return []string{nftBin, "-j", "list", "counter", "inet", Table, DropCounter}
}
