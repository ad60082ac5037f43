#!/bin/sh
# run.sh BIN ADDR REDIS_PORT: counterd on ADDR against a local Redis on REDIS_PORT.
# Starts redis-server (no persistence) only if nothing answers there, and stops
# only what it started, by pid. Ctrl-C stops both.
set -eu

if [ "$#" -ne 3 ]; then
	echo "usage: $0 BIN ADDR REDIS_PORT" >&2
	exit 2
fi
bin=$1 addr=$2 port=$3

redis_pid=
counterd_pid=
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$counterd_pid" ]; then kill "$counterd_pid" 2>/dev/null || true; wait "$counterd_pid" 2>/dev/null || true; fi
	if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if redis-cli -p "$port" ping >/dev/null 2>&1; then
	echo "run.sh: using the Redis already answering on port $port"
else
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
	redis_pid=$!
	tries=0
	until redis-cli -p "$port" ping >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ "$tries" -gt 50 ] || ! kill -0 "$redis_pid" 2>/dev/null; then
			echo "run.sh: redis-server did not answer on port $port" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "run.sh: started redis-server (pid $redis_pid) on port $port"
fi

case $addr in
:*) url="http://localhost$addr/" ;;
*) url="http://$addr/" ;;
esac
echo "run.sh: counterd at $url (Ctrl-C stops it)"
"$bin/counterd" --listen "$addr" --redis "redis://127.0.0.1:$port/0" &
counterd_pid=$!
wait "$counterd_pid"
