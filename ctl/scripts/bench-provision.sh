#!/usr/bin/env bash
# make bench-provision: how long `counterctl provision` takes on the lab.
#   1. counterctl lab up (the cached image; built once per machine if missing)
#   2. provision from bare: 7 fresh Debian 12 nodes, the .deb built from this
#      tree into an empty package cache (go's own build cache stays warm)
#   3. provision again: nothing to change
# prints both wall times and every node's step timings, checks the second
# run changed and restarted nothing, and compares with the targets. The lab
# is brought down on exit, also on failure. Root only.
#   env: BARE_TARGET (120 s) NOOP_TARGET (10 s) LAB_STATE (/var/lib/counter-lab)
set -euo pipefail
BIN="${1:-bin}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CTL="$(cd "$BIN" && pwd)/counterctl"
STATE="${LAB_STATE:-/var/lib/counter-lab}"
BARE_TARGET="${BARE_TARGET:-120}" NOOP_TARGET="${NOOP_TARGET:-10}"

[ "$(id -u)" -eq 0 ] || { echo "bench-provision: needs root (the lab boots containers)" >&2; exit 2; }
[ -x "$CTL" ] || { echo "bench-provision: no $CTL (make build)" >&2; exit 2; }
work="$(mktemp -d /tmp/counter-bench-provision.XXXXXX)"
cleanup() {
  "$CTL" lab down --state-dir "$STATE" >"$work/down.log" 2>&1 || { echo "bench-provision: lab down failed:" >&2; cat "$work/down.log" >&2; }
  rm -rf "$work"
}
trap cleanup EXIT

# mainpids prints "node unit pid" for counterd and redis-server on every node.
mainpids() {
  for n in $("$CTL" lab status --state-dir "$STATE" | awk 'NR > 1 && ($2 == "master" || $2 == "mirror" || $2 == "replica") {print $1}'); do
    for u in counterd redis-server; do
      printf '%s %s %s\n' "$n" "$u" "$("$CTL" lab ssh --state-dir "$STATE" "$n" -- systemctl show -p MainPID --value "$u")"
    done
  done
}

# provision NAME: one run from the source tree, its output to $work/NAME.log;
# sets took (seconds, 0.1 s).
provision() {
  local t0 t1 rc=0
  t0=$(date +%s%N)
  (cd "$ROOT" && "$CTL" provision -i "$STATE/inventory.yaml" --cache-dir "$work/cache") >"$work/$1.log" 2>&1 || rc=$?
  t1=$(date +%s%N)
  took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  cat "$work/$1.log"
  if [ "$rc" -ne 0 ]; then echo "bench-provision: provision ($1) failed with exit status $rc" >&2; exit 1; fi
}

# steps LOG: the slowest node of each step, in step order.
steps() {
  awk 'NF >= 4 && $(NF) ~ /^[0-9.]+(ms|s|m[0-9.]*s)$/ && $(NF-1) ~ /^(ok|changed|skipped|failed)$/ {
         step = ""; for (i = 2; i <= NF - 2; i++) step = step (step == "" ? "" : " ") $i
         t = $(NF); s = t + 0; if (t ~ /ms$/) s /= 1000; else if (t ~ /m/) { split(t, p, "m"); s = p[1] * 60 + p[2] }
         if (!(step in max)) order[++n] = step
         if (s >= max[step]) { max[step] = s; who[step] = $1 }
       }
       END { for (i = 1; i <= n; i++) printf "  %-24s %6.1f s  (%s)\n", order[i], max[order[i]], who[order[i]] }' "$1"
}

echo "== lab up"
"$CTL" lab up --state-dir "$STATE" >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }

echo "== provision from bare"
provision bare
bare=$took
pids_before="$(mainpids)"

echo "== provision again, nothing to change"
provision noop
noop=$took
pids_after="$(mainpids)"

fail=0
changed=$(awk '$1 == "HOST" { on = 1; next } on && NF == 6 { s += $3 } END { print s + 0 }' "$work/noop.log")
if [ "$changed" -ne 0 ]; then echo "bench-provision: the second run changed $changed steps, want 0" >&2; fail=1; fi
if [ "$pids_before" != "$pids_after" ]; then
  echo "bench-provision: the second run restarted services:" >&2
  diff <(echo "$pids_before") <(echo "$pids_after") >&2 || true
  fail=1
fi

echo
echo "== slowest node per step, from bare"
steps "$work/bare.log"
echo "== slowest node per step, nothing to change"
steps "$work/noop.log"
echo
verdict() { awk -v t="$1" -v max="$2" 'BEGIN { print (t <= max ? "within" : "OVER") }'; }
printf 'from bare:         %6.1f s wall  (target <= %s s: %s)\n' "$bare" "$BARE_TARGET" "$(verdict "$bare" "$BARE_TARGET")"
printf 'nothing to change: %6.1f s wall  (target <= %s s: %s; 0 changed, nothing restarted)\n' "$noop" "$NOOP_TARGET" "$(verdict "$noop" "$NOOP_TARGET")"
grep -h '^counter package' "$work/bare.log" "$work/noop.log" || true
exit "$fail"
