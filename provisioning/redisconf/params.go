package redisconf

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Params describe one node's Redis. Zero values noted "default" take it.
type Params struct {
	Role Role
	Node string // node name, [a-z][a-z0-9-]{0,31}, for the header

	// Bind are this node's own addresses the TLS port listens on besides
	// loopback: where replicas and remote counterds reach it. Behind NAT this
	// is the interface address, not the public one (that one goes into the
	// certificate). Never the wildcard.
	Bind []netip.Addr
	Port int // TLS port; default DefaultPort

	// Master is the master's address, IP or DNS name, for a mirror or a
	// replica; empty on the master.
	Master     string
	MasterPort int // default DefaultPort

	// Passwords of the ACL users: at least 16 printable ASCII characters
	// without spaces, and different. Only counterd's SHA-256 is written;
	// the replication password is written in clear as masterauth too.
	CounterdPassword    string
	ReplicationPassword string
	// SentinelPassword is the ACL user sentinel's, which Redis Sentinel
	// logs in as; empty: no such user (a node without Sentinel).
	SentinelPassword string
	// CounterctlPassword is the ACL user counterctl's, which `counterctl
	// failover` logs in as (the same secret as Sentinel's user counterctl);
	// empty: no such user.
	CounterctlPassword string

	// Priority is replica-priority (Sentinel promotes the lowest non-zero
	// first; 0 = never); nil takes PriorityDatacentre for master and
	// mirror, PriorityContinent for a replica.
	Priority *int
	// MinReplicasToWrite fences the master: with none of this many
	// replicas heard from within MinReplicasMaxLag it refuses writes.
	// 0 for a cluster of one node.
	MinReplicasToWrite int

	KeyPrefix string // counterd's key and channel prefix; default DefaultKeyPrefix
	MaxMemory uint64 // bytes; 0 = no limit (Redis's own default)
	Paths     Paths  // empty fields: DebianPaths
}

const minPasswordLen = 16

var (
	nodeNameRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	keyPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	// Paths are written unquoted; keep them to characters that need no quoting.
	pathRE = regexp.MustCompile(`^/[A-Za-z0-9/._+-]*$`)
)

func (p Params) withDefaults() Params {
	if p.Port == 0 {
		p.Port = DefaultPort
	}
	if p.MasterPort == 0 {
		p.MasterPort = DefaultPort
	}
	if p.KeyPrefix == "" {
		p.KeyPrefix = DefaultKeyPrefix
	}
	p.Paths = p.Paths.withDefaults()
	return p
}

func (p Params) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch p.Role {
	case RoleMaster, RoleMirror, RoleReplica:
	default:
		bad("Role", "%q is not master, mirror or replica", p.Role)
	}
	if !nodeNameRE.MatchString(p.Node) {
		bad("Node", "%q is not a node name ([a-z][a-z0-9-]{0,31})", p.Node)
	}

	if len(p.Bind) == 0 {
		bad("Bind", "empty: the node would be unreachable for replication and remote writes")
	}
	seen := make(map[netip.Addr]bool)
	for i, a := range p.Bind {
		field := fmt.Sprintf("Bind[%d]", i)
		switch {
		case !a.IsValid():
			bad(field, "not an address")
		case a.IsUnspecified():
			bad(field, "%s would listen on every interface: name the node's address", a)
		case a.Zone() != "":
			bad(field, "%s: zoned addresses are not supported", a)
		case a.IsMulticast():
			bad(field, "%s is a multicast address", a)
		case a.Unmap() == netip.MustParseAddr("127.0.0.1") || a == netip.IPv6Loopback():
			bad(field, "%s is always bound (for the local counterd)", a)
		case seen[a.Unmap()]:
			bad(field, "%s is listed twice", a)
		}
		seen[a.Unmap()] = true
	}
	checkPort(bad, "Port", p.Port)
	checkPort(bad, "MasterPort", p.MasterPort)

	switch {
	case p.Role == RoleMaster && p.Master != "":
		bad("Master", "%q set on the master itself", p.Master)
	case p.Role != RoleMaster && p.Master == "":
		bad("Master", "empty: a %s needs the master's address", p.Role)
	case p.Master != "" && !validHost(p.Master):
		bad("Master", "%q is neither an IP address nor a DNS name", p.Master)
	}

	checkPassword(bad, "CounterdPassword", p.CounterdPassword)
	checkPassword(bad, "ReplicationPassword", p.ReplicationPassword)
	if p.CounterdPassword != "" && p.CounterdPassword == p.ReplicationPassword {
		bad("ReplicationPassword", "same as CounterdPassword: each user needs its own secret")
	}
	if p.SentinelPassword != "" {
		checkPassword(bad, "SentinelPassword", p.SentinelPassword)
		if p.SentinelPassword == p.CounterdPassword || p.SentinelPassword == p.ReplicationPassword {
			bad("SentinelPassword", "same as another user's: each user needs its own secret")
		}
	}
	if p.CounterctlPassword != "" {
		checkPassword(bad, "CounterctlPassword", p.CounterctlPassword)
		for _, other := range []string{p.CounterdPassword, p.ReplicationPassword, p.SentinelPassword} {
			if p.CounterctlPassword == other {
				bad("CounterctlPassword", "same as another user's: each user needs its own secret")
				break
			}
		}
	}
	if p.Priority != nil && *p.Priority < 0 {
		bad("Priority", "%d: want 0 (never promote) or more", *p.Priority)
	}
	if p.MinReplicasToWrite < 0 {
		bad("MinReplicasToWrite", "%d is negative", p.MinReplicasToWrite)
	}
	if !keyPrefixRE.MatchString(p.KeyPrefix) {
		bad("KeyPrefix", "%q: want 1-64 of A-Z a-z 0-9 _ . : - (no glob characters)", p.KeyPrefix)
	}

	for _, f := range []struct{ name, v string }{
		{"Paths.Dir", p.Paths.Dir}, {"Paths.LogFile", p.Paths.LogFile}, {"Paths.PIDFile", p.Paths.PIDFile},
		{"Paths.UnixSocket", p.Paths.UnixSocket}, {"Paths.TLSCertFile", p.Paths.TLSCertFile},
		{"Paths.TLSKeyFile", p.Paths.TLSKeyFile}, {"Paths.TLSCAFile", p.Paths.TLSCAFile},
	} {
		if !pathRE.MatchString(f.v) {
			bad(f.name, "%q: want an absolute path of A-Z a-z 0-9 / . _ + -", f.v)
		}
	}
	// sun_path holds 108 bytes including the terminating NUL.
	if len(p.Paths.UnixSocket) > 107 {
		bad("Paths.UnixSocket", "%d bytes long, the limit is 107", len(p.Paths.UnixSocket))
	}
	return errors.Join(errs...)
}

func checkPort(bad func(string, string, ...any), field string, port int) {
	if port < 1 || port > 65535 {
		bad(field, "%d is not a TCP port", port)
	}
}

func checkPassword(bad func(string, string, ...any), field, pw string) {
	if len(pw) < minPasswordLen {
		bad(field, "%d characters, want at least %d (Redis keeps an unsalted SHA-256: the secret must be long and random)", len(pw), minPasswordLen)
		return
	}
	for _, c := range pw {
		if c < '!' || c > '~' {
			if c == '\n' || c == '\r' || c == ' ' || c == '\t' {
				bad(field, "contains whitespace (a trailing newline from the secret file?)")
			} else {
				bad(field, "contains characters other than printable ASCII")
			}
			return
		}
	}
}

// validHost accepts an IP address or an LDH DNS name.
func validHost(s string) bool {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Zone() == "" && !a.IsUnspecified()
	}
	name := strings.TrimSuffix(s, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range strings.ToLower(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
