package redisconf

import (
	"fmt"
	"strings"
)

// FailoverHookScript is Sentinel's client-reconfig-script. Sentinel runs it
// on every sentinel when the master changes, with
// <master-name> <role> <state> <from-ip> <from-port> <to-ip> <to-port>
// (role: leader or observer). It logs the promotion to the journal under
// the tag counter-failover, then runs every executable in hookDir with the
// same arguments, in name order. It exits 1 if a hook failed, which makes
// Sentinel run it again (up to 10 times): hooks must be idempotent. Sentinel
// kills it after 60 s.
func FailoverHookScript(hookDir string) []byte {
	if !pathRE.MatchString(hookDir) {
		panic(fmt.Sprintf("redisconf: hook directory %q", hookDir))
	}
	return []byte(strings.ReplaceAll(`#!/bin/sh
# Written by counterctl provision: Sentinel's client-reconfig-script.
# Arguments: master-name role state from-ip from-port to-ip to-port.
hooks=HOOKDIR
logger -t counter-failover -- "master $1: $4:$5 -> $6:$7 ($2, $3)" || true
status=0
for f in "$hooks"/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	if ! "$f" "$@"; then
		logger -t counter-failover -- "hook $f failed for $4:$5 -> $6:$7" || true
		status=1
	fi
done
exit $status
`, "HOOKDIR", hookDir))
}
