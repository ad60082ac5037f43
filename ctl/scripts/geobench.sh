#!/usr/bin/env bash
# make geobench: what a user on each continent of the lab gets, against the
# physical floor of the lab's WAN matrix (docs/geobench.md explains it all).
#   1. if no lab is up in LAB_STATE: counterctl lab up --dns-secondaries
#      (every node answers DNS on the anycast address, so each continent
#      resolves at its nearest node), then provision from this tree (and lab
#      down at the end, also on failure) and publish its names (dns publish)
#   2. counterctl geobench: one probe per continent, run in the continent's
#      client namespace; rewrites the results in docs/geobench.md and
#      docs/geobench.png
# A lab that is up already is used as it is (GEOBENCH_PROVISION=1 provisions
# it from this tree first) and left up. Root only; run it under the lab's
# lock when others share the machine: flock /work/wt/counter-lab.flock make geobench
#   env: GEOBENCH_QUICK=1 (a short smoke run) GEOBENCH_RATE (background
#        reads/s, 2100) GEOBENCH_SECTION (the result section of the doc,
#        main; another one writes docs/geobench-SECTION.png) GEOBENCH_RAW
#        (file for every sample, JSON) GEOBENCH_PROVISION LAB_STATE
set -euo pipefail
BIN="${1:-bin}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CTL="$(cd "$BIN" && pwd)/counterctl"
STATE="${LAB_STATE:-/var/lib/counter-lab}"

[ "$(id -u)" -eq 0 ] || { echo "geobench: needs root (the lab's namespaces)" >&2; exit 2; }
[ -x "$CTL" ] || { echo "geobench: no $CTL (make build)" >&2; exit 2; }
work="$(mktemp -d /tmp/counter-geobench.XXXXXX)"
brought_up=0
cleanup() {
  if [ "$brought_up" -eq 1 ]; then
    "$CTL" lab down --state-dir "$STATE" >"$work/down.log" 2>&1 || { echo "geobench: lab down failed:" >&2; cat "$work/down.log" >&2; }
  fi
  rm -rf "$work"
}
trap cleanup EXIT

provision() {
  echo "== provision from this tree"
  (cd "$ROOT" && "$CTL" provision -i "$STATE/inventory.yaml") >"$work/provision.log" 2>&1 ||
    { cat "$work/provision.log" >&2; echo "geobench: provision failed" >&2; exit 1; }
  # As make demo does: the names pages resolve (docs/dns.md).
  echo "== dns publish"
  (cd "$ROOT" && "$CTL" dns publish -i "$STATE/inventory.yaml") >"$work/dns.log" 2>&1 ||
    { cat "$work/dns.log" >&2; echo "geobench: dns publish failed" >&2; exit 1; }
}

if [ ! -e "$STATE/lab.json" ]; then
  echo "== lab up"
  brought_up=1
  "$CTL" lab up --state-dir "$STATE" --dns-secondaries >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
  provision
elif [ "${GEOBENCH_PROVISION:-0}" = 1 ]; then
  provision
else
  echo "== using the lab that is up in $STATE as it is"
fi

section="${GEOBENCH_SECTION:-main}"
chart="$ROOT/docs/geobench.png"
command="make geobench"
if [ "$section" != main ]; then chart="$ROOT/docs/geobench-$section.png"; command="GEOBENCH_SECTION=$section $command"; fi
args=(--state-dir "$STATE" --doc "$ROOT/docs/geobench.md" --section "$section" --chart "$chart")
if [ -n "${GEOBENCH_RAW:-}" ]; then args+=(--raw "$GEOBENCH_RAW"); fi
if [ "${GEOBENCH_QUICK:-0}" = 1 ]; then args+=(--quick); command="GEOBENCH_QUICK=1 make geobench"; fi
if [ -n "${GEOBENCH_RATE:-}" ]; then args+=(--rate "$GEOBENCH_RATE"); command="GEOBENCH_RATE=$GEOBENCH_RATE $command"; fi
echo "== geobench from every continent"
"$CTL" geobench "${args[@]}" --command "$command"
echo "== results in docs/geobench.md (section $section), chart $chart"
