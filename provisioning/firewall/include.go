package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// includeLine is what EnsureInclude appends to /etc/nftables.conf.
const includeLine = `include "` + IncludeGlob + `"`

// EnsureInclude returns conf (the content of ConfPath) with an include of
// IncludeGlob appended, and whether it had to add it. The line goes last so
// it comes after Debian's `flush ruleset` and the admin's tables; a conf
// that already includes the glob or LivePath is returned as it is. An
// empty conf (no file) becomes a minimal one.
func EnsureInclude(conf []byte) ([]byte, bool) {
	for _, line := range strings.Split(string(conf), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "include" {
			if p := strings.Trim(f[1], `"`); p == IncludeGlob || p == LivePath {
				return conf, false
			}
		}
	}
	out := bytes.Clone(conf)
	if len(out) == 0 {
		out = []byte("#!/usr/sbin/nft -f\n")
	}
	if out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, "\n# counterctl: the cluster's table inet "+Table+"\n"+includeLine+"\n"...)
	return out, true
}

// Dropped is the drop counter of the input chain since the last apply.
type Dropped struct {
	Packets, Bytes uint64
}

// ParseDropped reads the output of StatusArgv.
func ParseDropped(out []byte) (Dropped, error) {
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name           string
				Packets, Bytes uint64
			}
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return Dropped{}, fmt.Errorf("parse nft counter: %w", err)
	}
	for _, o := range doc.Nftables {
		if o.Counter != nil && o.Counter.Name == DropCounter {
			return Dropped{Packets: o.Counter.Packets, Bytes: o.Counter.Bytes}, nil
		}
	}
	return Dropped{}, fmt.Errorf("parse nft counter: no counter %q in the output", DropCounter)
}
