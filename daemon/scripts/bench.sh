#!/usr/bin/env bash
# make bench: counterd against its peers (../shared/bench), in one invocation.
#   GET / and GET /getvalue vs nginx static page and the seed's nginx+Lua+Redis,
#   POST /inc from 10,000 distinct logged-in users, 10,000 /events clients
#   against counterd and against the floor peer (the least fan-out server).
# counterd and its redis-server run on CPU 1 (as the peers do), every load
# generator on CPU 0. Everything started here is stopped by pid on exit.
#   env: ROUNDS (3) DURATION (10) CONNS (64) USERS (10000) CLIENTS (10000)
#        BENCH_DIR (../shared/bench) PORT (8090) REDIS_PORT (6391) FLOOR_PORT (8099)
set -euo pipefail
BIN="${1:-bin}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BENCH_DIR="${BENCH_DIR:-$ROOT/../shared/bench}"
PORT="${PORT:-8090}" REDIS_PORT="${REDIS_PORT:-6391}" FLOOR_PORT="${FLOOR_PORT:-8099}"
ROUNDS="${ROUNDS:-3}" USERS="${USERS:-10000}" CLIENTS="${CLIENTS:-10000}"
COUNTER="${COUNTER:-123456}"
export ROUNDS DURATION="${DURATION:-10}" CONNS="${CONNS:-64}"

[ -x "$BENCH_DIR/compare.sh" ] || { echo "bench: peers not found in $BENCH_DIR (set BENCH_DIR)" >&2; exit 1; }
work="$(mktemp -d /tmp/counter-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  "$BENCH_DIR/peers/stop.sh" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_http() { # url
  for _ in $(seq 1 100); do curl -fs -o /dev/null --max-time 1 "$1" && return 0; sleep 0.1; done
  echo "bench: $1 never answered" >&2; return 1
}

"$BENCH_DIR/peers/setup.sh" >/dev/null
"$BENCH_DIR/peers/start.sh"
go build -o "$work/loadgen" "$ROOT/daemon/internal/loadgen"

taskset -c 1 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
  --dir "$work" --maxclients 20000 --daemonize no --logfile "$work/redis.log" &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$REDIS_PORT" SET counter:value "$COUNTER" >/dev/null

# Every load client connects from 127.0.0.1: no per-address cap.
taskset -c 1 "$BIN/counterd" --listen "127.0.0.1:$PORT" --redis "redis://127.0.0.1:$REDIS_PORT/0" \
  --max-conns-per-ip 0 --log-level warn >"$work/counterd.log" 2>&1 &
cpid=$!
pids+=("$cpid")
wait_http "http://127.0.0.1:$PORT/readyz"

echo "## GET / and GET /getvalue (ROUNDS=$ROUNDS, ${DURATION}s, $CONNS connections)"
EXTRA="counterd=http://127.0.0.1:$PORT/ counterd-getvalue=http://127.0.0.1:$PORT/getvalue" \
  NOTE="counterd $("$BIN/counterd" --version 2>&1 | head -1)" "$BENCH_DIR/compare.sh"

echo "## POST /inc, $USERS distinct logged-in users"
taskset -c 0 "$work/loadgen" inc -url "http://127.0.0.1:$PORT" -redis "redis://127.0.0.1:$REDIS_PORT/0" -users "$USERS"

echo "## /events, $CLIENTS concurrent clients: counterd, and the floor peer (loadgen floor) on the same CPU"
taskset -c 1 "$work/loadgen" floor -listen "127.0.0.1:$FLOOR_PORT" -redis "redis://127.0.0.1:$REDIS_PORT/0" \
  >"$work/floor.log" 2>&1 &
fpid=$!
pids+=("$fpid")
for _ in $(seq 1 100); do grep -q serving "$work/floor.log" && break; sleep 0.1; done
grep -q serving "$work/floor.log" || { echo "bench: the floor peer did not start" >&2; cat "$work/floor.log" >&2; exit 1; }
for round in $(seq 1 "$ROUNDS"); do
  for target in counterd floor; do
    if [ "$target" = counterd ]; then url="http://127.0.0.1:$PORT" pid="$cpid"; else url="http://127.0.0.1:$FLOOR_PORT" pid="$fpid"; fi
    line="$(taskset -c 0 "$work/loadgen" events -url "$url" -redis "redis://127.0.0.1:$REDIS_PORT/0" \
      -clients "$CLIENTS" -pid "$pid" | tail -1)"
    echo "round $round $target $line" | tee -a "$work/events.txt"
  done
done
# Medians over the rounds of each one's p99 delivery time, and their ratio.
median_p99() { # target
  grep " $1 " "$work/events.txt" | grep -o 'p99_ms=[0-9.]*' | cut -d= -f2 | sort -n |
    awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
awk -v c="$(median_p99 counterd)" -v f="$(median_p99 floor)" \
  'BEGIN { printf "events median p99: counterd %.1f ms, floor %.1f ms, counterd/floor %.2f\n", c, f, c / f }'
