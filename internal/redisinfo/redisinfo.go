// Package redisinfo reads the reply of Redis INFO. It is the one parser of
// that format: counterd's poller, provisioning's replication step and probe,
// and the tests all read INFO through it.
package redisinfo

import "strings"

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
