// Package sentinel asks a node's own Redis Sentinel what it sees, over the
// node's SSH link (as counterctl asks Redis for INFO): redis-cli as root on
// the node, TLS to 127.0.0.1:26379 with the node's Redis certificate, as
// Sentinel's ACL user counterctl, whose password provision keeps in a
// root-only file on the node. No password crosses an argv or leaves the node,
// and Sentinel's port needs no opening towards the admin.
package sentinel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"counter/provisioning/redisconf"
	"counter/provisioning/sshx"
)

// PasswordFile holds the ACL user counterctl's password (on Sentinel and on Redis) on each
// node (0600 root), written by provision.
const PasswordFile = "/etc/counter/sentinel-counterctl.pass"

// User is counterctl's ACL user on the sentinels.
const User = "counterctl"

// script runs redis-cli with the password from $1 in REDISCLI_AUTH; the
// TLS files and port follow as arguments, never pasted into the script.
const script = `REDISCLI_AUTH=$(cat -- "$1") || exit 2
export REDISCLI_AUTH
ca=$2 cert=$3 key=$4 port=$5 user=$6
shift 6
exec redis-cli --no-auth-warning --tls --cacert "$ca" --cert "$cert" --key "$key" -h 127.0.0.1 -p "$port" --user "$user" "$@"`

// Where says where the sentinel and its client files are on a node.
type Where struct {
	PasswordFile              string
	CAFile, CertFile, KeyFile string
	Port                      int
}

// Provisioned is where provision puts them: Redis' TLS files, the port
// redisconf.SentinelPort.
func Provisioned() Where {
	p := redisconf.DebianPaths()
	return Where{PasswordFile: PasswordFile, CAFile: p.TLSCAFile, CertFile: p.TLSCertFile, KeyFile: p.TLSKeyFile,
		Port: redisconf.SentinelPort}
}

// Argv runs redis-cli against the node's local sentinel with args.
func (w Where) Argv(args ...string) []string {
	return append([]string{"sh", "-c", script, "sh", w.PasswordFile, w.CAFile, w.CertFile, w.KeyFile,
		strconv.Itoa(w.Port), User}, args...)
}

// Runner runs an argv on one node and returns its standard output
// (host.Host.Query, or an SSH client's Run).
type Runner func(ctx context.Context, argv []string) ([]byte, error)

// Client asks one node's sentinel.
type Client struct {
	Run   Runner
	Where Where
}

// ask runs a SENTINEL subcommand; a failing redis-cli is reported by its
// exit status and complaint, not by the script's argv.
func (c Client) ask(ctx context.Context, args ...string) ([]byte, error) {
	out, err := c.Run(ctx, c.Where.Argv(append([]string{"SENTINEL"}, args...)...))
	var xe *sshx.ExitError
	if errors.As(err, &xe) {
		return nil, fmt.Errorf("redis-cli to the local sentinel exited %d: %s", xe.Code, firstLine(xe.Stderr))
	}
	return out, err
}

// ErrNoMaster: the sentinel does not monitor the cluster (yet).
var ErrNoMaster = errors.New("the sentinel does not monitor the cluster")

// MasterAddr is host:port of the master as the node's sentinel names it
// (SENTINEL GET-MASTER-ADDR-BY-NAME name).
func (c Client) MasterAddr(ctx context.Context, name string) (string, error) {
	out, err := c.ask(ctx, "GET-MASTER-ADDR-BY-NAME", name)
	if err != nil {
		return "", fmt.Errorf("sentinel: %w", err)
	}
	return parseMasterAddr(out)
}

func parseMasterAddr(out []byte) (string, error) {
	lines := strings.Fields(strings.TrimSpace(string(out)))
	switch {
	case len(lines) == 0:
		return "", ErrNoMaster
	case len(lines) == 2:
		if _, err := strconv.ParseUint(lines[1], 10, 16); err == nil {
			return net.JoinHostPort(lines[0], lines[1]), nil
		}
	}
	// redis-cli prints an error reply (NOAUTH, NOPERM...) and exits 0.
	return "", fmt.Errorf("sentinel answered %q", firstLine(out))
}

// CKQuorum runs SENTINEL CKQUORUM name: nil when the sentinels that this
// one can reach are enough for the quorum and to authorise a failover;
// otherwise an error with the sentinel's reason.
func (c Client) CKQuorum(ctx context.Context, name string) (string, error) {
	out, err := c.ask(ctx, "CKQUORUM", name)
	if err != nil {
		return "", fmt.Errorf("sentinel: %w", err)
	}
	return parseCKQuorum(out)
}

func parseCKQuorum(out []byte) (string, error) {
	l := firstLine(out)
	if strings.HasPrefix(l, "OK ") {
		return l, nil
	}
	return "", fmt.Errorf("CKQUORUM: %s", l)
}

func firstLine(b []byte) string {
	l, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if l == "" {
		return "no output"
	}
	return strings.TrimSpace(l)
}

// TuneScript is redisconf.SentinelTune: redis-sentinel.service runs it as
// root after every start. Its comment takes the periods from redisconf, so
// it cannot go stale when they are tuned. It sets the sentinel's INFO, ping
// and ask periods (redisconf.InfoPeriod, PingPeriod, AskPeriod), which only
// SENTINEL DEBUG changes and no restart keeps, retrying for about 10 s
// while the sentinel comes up;
// it exits non-zero if the sentinel never took it, so the unit's start
// fails loudly and systemd starts it again (Restart=always).
func TuneScript(w Where) []byte {
	argv := w.Argv("SENTINEL", "DEBUG",
		"info-period", strconv.FormatInt(redisconf.InfoPeriod.Milliseconds(), 10),
		"ping-period", strconv.FormatInt(redisconf.PingPeriod.Milliseconds(), 10),
		"ask-period", strconv.FormatInt(redisconf.AskPeriod.Milliseconds(), 10))
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return []byte(`#!/bin/sh
# Written by counterctl provision: redis-sentinel.service runs it as root
# after every start (ExecStartPost=+, in its counter.conf drop-in): INFO to
# each replica every ` + redisconf.InfoPeriod.String() + ` (a replica whose last answer is older than 5 s is
# never promoted), PING to each every ` + redisconf.PingPeriod.String() + ` (when a sentinel sees the master
# down varies by that much), and "is the master down?" to the other sentinels every
# ` + redisconf.AskPeriod.String() + `, so their answers about a dead master are forgotten ` + (5 * redisconf.AskPeriod).String() + `
# after a failover instead of 5 s (docs/failover.md).
i=0
while :; do
	out=$(` + strings.Join(words, " ") + ` 2>&1)
	[ "$out" = OK ] && exit 0
	i=$((i + 1))
	if [ "$i" -ge 100 ]; then
		echo "sentinel-tune: SENTINEL DEBUG: $out" >&2
		exit 1
	fi
	sleep 0.1
done
`)
}
