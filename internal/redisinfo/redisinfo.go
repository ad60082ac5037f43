// Package redisinfo reads the reply of Redis INFO. It is the one parser of
// that format: counterd's poller, provisioning's replication step and probe,
// and the tests all read INFO through it.
package redisinfo

import (
	"net"
	"strconv"
	"strings"
)

// Fields are the key:value lines of an INFO reply. Section headers
// ("# Replication"), blank lines and anything without a colon are left out.
type Fields map[string]string

// Parse reads an INFO reply. Redis ends lines with \r\n; redis-cli with \n.
// A value may itself hold colons (master_host:::1), so only the first one
// splits.
func Parse(reply string) Fields {
	f := Fields{}
	for line := range strings.Lines(reply) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			f[k] = v
		}
	}
	return f
}

// LinkUp reports whether the reply is a replica's whose link to its master
// is up: role:slave and master_link_status:up.
func (f Fields) LinkUp() bool {
	return f["role"] == "slave" && f["master_link_status"] == "up"
}

// Replica is one slaveN line of a master's INFO replication.
type Replica struct {
	Addr   string // ip:port as the master sees it (host:port for net.Dial)
	State  string // online once it streams; wait_bgsave, send_bulk... before
	Offset int64  // the replication offset the replica has acknowledged
}

// Replicas reads the slaveN lines of a master's INFO replication
// ("slave0:ip=10.0.0.2,port=6380,state=online,offset=123,lag=0"), in any
// order; malformed lines are left out.
func (f Fields) Replicas() []Replica {
	var out []Replica
	for k, v := range f {
		if !strings.HasPrefix(k, "slave") || strings.TrimLeft(k[len("slave"):], "0123456789") != "" || k == "slave" {
			continue
		}
		var r Replica
		var ip, port string
		for kv := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(kv, "=")
			switch name {
			case "ip":
				ip = val
			case "port":
				port = val
			case "state":
				r.State = val
			case "offset":
				n, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					r.Offset = -1
				} else {
					r.Offset = n
				}
			}
		}
		if ip == "" || port == "" || r.Offset < 0 {
			continue
		}
		r.Addr = net.JoinHostPort(ip, port)
		out = append(out, r)
	}
	return out
}

// Int is the integer field key (e.g. master_repl_offset), ok false when
// missing or not a number.
func (f Fields) Int(key string) (int64, bool) {
	n, err := strconv.ParseInt(f[key], 10, 64)
	return n, err == nil
}
