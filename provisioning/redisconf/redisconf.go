// Package redisconf renders /etc/redis/redis.conf for a counter node from
// plain parameters, for Debian 12's redis-server 7.0 package.
//
// All traffic is TLS with client certificates: Redis binds every listener
// to the same addresses, so a plain-text port on loopback cannot be had
// without one on the node address too, and there is none (port 0). The TLS
// port listens on loopback (the local counterd) and on the node's own
// addresses (replication, counterd writing to the master). The default user
// is off; counterd and replication are ACL users limited to what they run.
//
// Redis checks a peer's certificate chain against the cluster CA but not its
// host name, so every certificate that CA signs is a cluster member.
//
// Render is deterministic: provisioning compares the bytes it owns (Owned:
// all but replicaof) with its copy of them on the node to decide whether
// anything changed; Redis rewrites the file itself after a failover.
package redisconf

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"text/template"
)

// Role is the node's place in replication.
type Role string

// Roles, as in the inventory.
const (
	RoleMaster  Role = "master"
	RoleMirror  Role = "mirror"
	RoleReplica Role = "replica"
)

// Where provisioning installs what the configuration refers to.
const (
	ConfigPath = "/etc/redis/redis.conf"
	// OwnedPath is provision's copy of what it last rendered for
	// ConfigPath, without replicaof: provision compares against it, never
	// against the file Redis rewrites (CONFIG REWRITE, sent by Sentinel).
	OwnedPath = "/etc/counter/redis.conf"
	TLSDir    = "/etc/redis/tls"
	// DefaultPort is the TLS port on every node.
	DefaultPort = 6380
	// DefaultKeyPrefix is counterd's default key and channel prefix.
	DefaultKeyPrefix = "counter:"
)

// Replica priorities: Sentinel promotes the lowest non-zero one, so the
// master's datacentre (the mirror, or the old master once it follows) goes
// before the continents.
const (
	PriorityDatacentre = 10
	PriorityContinent  = 100
)

// counterdCommands are the commands counter/daemon/store sends, directly or
// from its Lua scripts (Redis checks ACLs inside scripts too): HELLO and
// CLIENT SETNAME from go-redis's handshake; GET, SET, DEL, HSETNX, HGET,
// HMGET for users and sessions; SCAN and, in a script, RENAME to fold logins
// registered before they were case-insensitive; INFO replication and WAIT after a registration, so the
// replicas have the user before it logs in, and in the pipeline of every
// press when counterd follows the sentinels, so a press is acknowledged only
// once the replica they would promote first has it; INFO and SUBSCRIBE, PING for the
// poller and subscriber;
// EVALSHA with EVAL as go-redis's fallback; and in the scripts EXISTS, TIME,
// INCR, HSET, HDEL (confirming a press), PUBLISH. Anything else counterd starts sending is refused with
// NOPERM until it is added here.
var counterdCommands = []string{
	"hello", "client|setname", "ping", "info",
	"get", "set", "del", "exists", "incr", "hget", "hset", "hsetnx", "hdel", "time",
	"publish", "subscribe", "eval", "evalsha", "wait", "hmget", "scan", "rename",
}

// sentinelCommands are what Redis Sentinel sends a monitored node, as
// Redis' Sentinel documentation lists them for its ACL user: INFO, ROLE
// and PING to watch; PUBLISH and SUBSCRIBE for its hello channel; CLIENT
// SETNAME for its links; and, inside MULTI/EXEC, SLAVEOF (REPLICAOF),
// CONFIG REWRITE and CLIENT KILL to promote or repoint a node; SCRIPT KILL
// for a master stuck in a script.
var sentinelCommands = []string{
	"ping", "info", "role", "publish", "subscribe", "client|setname", "client|kill",
	"multi", "exec", "slaveof", "replicaof", "config|rewrite", "script|kill",
}

// counterctlCommands are what `counterctl failover` (provisioning/switchover)
// sends a node: PING; INFO replication and CONFIG GET replica-priority to
// plan; CONFIG SET replica-priority and CONFIG REWRITE to make the target
// Sentinel's pick and put it back; CLIENT PAUSE WRITE and CLIENT UNPAUSE on
// the master; REPLICAOF to make the old master follow the new one. CONFIG
// SET takes any parameter (Redis' ACLs cannot limit it); the protected
// ones (dir, dbfilename...) stay refused by enable-protected-configs no.
var counterctlCommands = []string{
	"ping", "info", "config|get", "config|set", "config|rewrite",
	"client|pause", "client|unpause", "replicaof",
}

// MinReplicasMaxLag is min-replicas-max-lag in seconds: a master that has
// had no replica acknowledgement for this long refuses writes. Replicas
// acknowledge every second; 10 s rides out a lost segment or two across a
// 300 ms ocean without refusing presses, and bounds how long a master cut
// off from every replica takes writes that a promoted replica would not
// have (docs/failover.md).
const MinReplicasMaxLag = 10

// CounterdCommands returns the commands the counterd ACL user may run.
func CounterdCommands() []string { return append([]string(nil), counterdCommands...) }

// Paths are the files and directories the configuration names.
// Empty fields take Debian's layout (see DebianPaths); tests point them into
// a temporary directory.
type Paths struct {
	Dir         string // working directory: RDB, AOF
	LogFile     string
	PIDFile     string
	UnixSocket  string
	TLSCertFile string // this node's certificate (server and client)
	TLSKeyFile  string
	TLSCAFile   string // the cluster CA
}

// DebianPaths is the layout of Debian's redis-server package, with the TLS
// files under TLSDir.
func DebianPaths() Paths {
	return Paths{
		Dir:         "/var/lib/redis",
		LogFile:     "/var/log/redis/redis-server.log",
		PIDFile:     "/run/redis/redis-server.pid",
		UnixSocket:  "/run/redis/redis-server.sock",
		TLSCertFile: TLSDir + "/redis.crt",
		TLSKeyFile:  TLSDir + "/redis.key",
		TLSCAFile:   TLSDir + "/ca.crt",
	}
}

func (p Paths) withDefaults() Paths {
	d := DebianPaths()
	for _, f := range []struct{ v, def *string }{
		{&p.Dir, &d.Dir}, {&p.LogFile, &d.LogFile}, {&p.PIDFile, &d.PIDFile},
		{&p.UnixSocket, &d.UnixSocket}, {&p.TLSCertFile, &d.TLSCertFile},
		{&p.TLSKeyFile, &d.TLSKeyFile}, {&p.TLSCAFile, &d.TLSCAFile},
	} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	return p
}

// CertSANs are the names a node's Redis certificate must carry: the
// address others use to reach it (inventory address, IP or DNS name), its
// bind addresses, and 127.0.0.1, which the local counterd dials.
func CertSANs(address string, bind []netip.Addr) []string {
	sans := []string{address, "127.0.0.1"}
	for _, a := range bind {
		sans = append(sans, a.Unmap().String())
	}
	slices.Sort(sans)
	return slices.Compact(sans)
}

//go:embed redis.conf.tmpl
var confTemplate string

// tmpl is parsed once; it is never modified after, so sharing it is safe.
var tmpl = template.Must(template.New("redis.conf").Option("missingkey=error").Parse(confTemplate))

// Render returns the complete redis.conf for p, or an error naming every
// invalid field.
func Render(p Params) ([]byte, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	bind := []string{"127.0.0.1", "-::1"} // "-": skip ::1 where IPv6 is off
	for _, a := range p.Bind {
		bind = append(bind, a.Unmap().String())
	}
	priority := PriorityContinent
	if p.Role != RoleReplica {
		priority = PriorityDatacentre
	}
	if p.Priority != nil {
		priority = *p.Priority
	}
	sentinelHash := ""
	if p.SentinelPassword != "" {
		sentinelHash = sha256Hex(p.SentinelPassword)
	}
	counterctlHash := ""
	if p.CounterctlPassword != "" {
		counterctlHash = sha256Hex(p.CounterctlPassword)
	}
	data := map[string]any{
		"ConfigPath":          ConfigPath,
		"OwnedPath":           OwnedPath,
		"Node":                p.Node,
		"Bind":                strings.Join(bind, " "),
		"Port":                p.Port,
		"Paths":               p.Paths,
		"CounterdHash":        sha256Hex(p.CounterdPassword),
		"ReplicationHash":     sha256Hex(p.ReplicationPassword),
		"ReplicationPassword": quote(p.ReplicationPassword),
		"KeyPrefix":           p.KeyPrefix,
		"CounterdCommands":    "-@all +" + strings.Join(counterdCommands, " +"),
		"MaxMemory":           p.MaxMemory,
		"Master":              p.Master,
		"MasterPort":          p.MasterPort,
		"Priority":            priority,
		"AnnounceIP":          p.Bind[0].Unmap().String(),
		"SentinelHash":        sentinelHash,
		"SentinelCommands":    "-@all +" + strings.Join(sentinelCommands, " +"),
		"CounterctlHash":      counterctlHash,
		"CounterctlCommands":  "-@all +" + strings.Join(counterctlCommands, " +"),
		"MinReplicas":         p.MinReplicasToWrite,
		"MaxLag":              MinReplicasMaxLag,
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render redis.conf: %w", err)
	}
	return buf.Bytes(), nil
}

// Owned is the part of a rendered redis.conf that provision owns: all of
// it but the replicaof line, which Redis itself rewrites (CONFIG REWRITE)
// when Sentinel promotes or repoints the node. Provision keeps this copy at
// OwnedPath and writes redis.conf only when it changes.
func Owned(conf []byte) []byte {
	var b strings.Builder
	for line := range strings.Lines(string(conf)) {
		if !strings.HasPrefix(line, "replicaof ") {
			b.WriteString(line)
		}
	}
	return []byte(b.String())
}

// Replicaof returns the master address and port of the last replicaof (or
// slaveof) line of a redis.conf, as Redis reads it; empty for a master.
func Replicaof(conf []byte) string {
	var out string
	for line := range strings.Lines(string(conf)) {
		if f := strings.Fields(line); len(f) == 3 && (f[0] == "replicaof" || f[0] == "slaveof") {
			out = f[1] + " " + f[2]
		}
	}
	return out
}

// sha256Hex is the form of an ACL password after `#`. Redis supports no
// salted or slow hash; the secrets are long and random, which makes an
// unsalted SHA-256 as good as one here (no dictionary to try).
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// quote writes s as a double-quoted Redis configuration argument. Validation
// has already limited s to printable ASCII, so only \ and " need escaping.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
