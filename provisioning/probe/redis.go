package probe

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"counter/internal/redisinfo"
	"counter/provisioning/sshx"
)

// RedisInfo is what INFO says about a node's Redis.
type RedisInfo struct {
	Version string
	Role    string // master or slave, as Redis says it
	// On a replica: whom it follows and how that link is.
	MasterHost string
	MasterPort int
	LinkUp     bool
	// SinceMaster is seconds since the replica last heard from its master
	// (master_last_io_seconds_ago), or since the link went down.
	SinceMaster int64
	// Offset is the replication offset: the master's own, or what a replica
	// has processed (slave_repl_offset).
	Offset            int64
	ConnectedReplicas int
	UsedMemory        uint64 // bytes
	MaxMemory         uint64 // 0: no limit
}

// redis runs INFO over the node's unix socket as root. The password goes on
// stdin (--askpass), so it never appears in a process list.
func (p *Prober) redis(ctx context.Context, cl *sshx.Client) Fact[RedisInfo] {
	pw, ok, err := cl.ReadFile(ctx, p.opts.RedisPasswordFile)
	if err == nil && !ok {
		err = fmt.Errorf("%s: missing", p.opts.RedisPasswordFile)
	}
	if err != nil {
		return Fact[RedisInfo]{Err: fmt.Errorf("redis password: %w", err)}
	}
	if !bytes.HasSuffix(pw, []byte("\n")) {
		pw = append(pw, '\n')
	}
	argv := []string{"redis-cli", "-s", p.opts.RedisSocket, "--user", p.opts.RedisUser, "--askpass", "INFO"}
	out, err := cl.Run(ctx, argv, sshx.RunOptions{Stdin: bytes.NewReader(pw)})
	if err != nil {
		return Fact[RedisInfo]{Err: fmt.Errorf("redis INFO: %w", err)}
	}
	info, err := ParseInfo(out.Stdout)
	if err != nil {
		// redis-cli exits 0 after a failed AUTH; its complaint is on stderr.
		if msg := strings.TrimSpace(string(out.Stderr)); msg != "" {
			err = fmt.Errorf("%w (%s)", err, msg)
		}
		return Fact[RedisInfo]{Err: fmt.Errorf("redis INFO: %w", err)}
	}
	return Fact[RedisInfo]{V: info}
}

// ParseInfo reads the output of INFO. Anything that is not INFO (an error
// reply such as NOAUTH) is an error quoting its first line.
func ParseInfo(b []byte) (RedisInfo, error) {
	kv := redisinfo.Parse(string(b))
	if kv["role"] == "" || kv["redis_version"] == "" {
		first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if first == "" {
			first = "no output"
		}
		return RedisInfo{}, fmt.Errorf("not an INFO reply: %q", first)
	}
	var bad []string
	num := func(key string) int64 {
		s, ok := kv[key]
		if !ok {
			return 0
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			bad = append(bad, key+"="+s)
		}
		return v
	}
	r := RedisInfo{
		Version:           kv["redis_version"],
		Role:              kv["role"],
		ConnectedReplicas: int(num("connected_slaves")),
		UsedMemory:        uint64(num("used_memory")),
		MaxMemory:         uint64(num("maxmemory")),
		Offset:            num("master_repl_offset"),
	}
	if r.Role == "slave" {
		r.MasterHost = kv["master_host"]
		r.MasterPort = int(num("master_port"))
		r.LinkUp = kv["master_link_status"] == "up"
		r.Offset = num("slave_repl_offset")
		if r.LinkUp {
			r.SinceMaster = num("master_last_io_seconds_ago")
		} else {
			r.SinceMaster = num("master_link_down_since_seconds")
		}
	}
	if len(bad) > 0 {
		return r, fmt.Errorf("INFO: not numbers: %s", strings.Join(bad, ", "))
	}
	return r, nil
}

// Fields gives back the replication keys livemaster.Decide reads, so
// status and health decide on the INFO the probe already read.
func (r RedisInfo) Fields() redisinfo.Fields {
	f := redisinfo.Fields{"role": r.Role, "connected_slaves": strconv.Itoa(r.ConnectedReplicas)}
	if r.Role == "slave" {
		f["master_host"], f["master_port"] = r.MasterHost, strconv.Itoa(r.MasterPort)
	}
	return f
}
