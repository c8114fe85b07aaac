#!/usr/bin/env bash
# memory.sh — memdb beside Redis on one node, holding the same data (issue
# 20): resident bytes per key, the allocator's own count per key, GET and SET
# latency at N keys against a small table, and memdb's boot replay of N keys.
#
# Both servers get N keys key:NNNNNNNNNNNN (16 bytes) of D-byte values, sent
# with redis-cli --pipe (one loader for both: memdb through its RESP port).
# Redis runs without persistence (--save '' --appendonly no); memdbd with -rf 1
# -fsync none and its default -gc-percent (GC=25 changes it; the default is 15). Resident memory
# is VmRSS after the load, minus VmRSS before it, the least of 10 samples over
# 5 s once the load is done (memdb may be compacting its log: the samples wait
# for it). Latency is redis-benchmark -t get,set -c 50 -r KEYS (random keys of
# the loaded range) at the small table (SMALL keys, loaded alike) and at N.
# Boot is memdbd started again on its data directory until it answers PING.
#
# Installs redis-server and redis-tools with apt-get if missing (needs root).
# Needs go, awk and curl. Not part of `make test`: about 2 minutes at 1M keys on 2
# cores, 20 at 10M (and 2 GB of memory per server).
#
# Usage: bench/memory.sh                      (from anywhere in the repository)
#        N=10000000 SMALL=100000 D=100 REQ=200000 bench/memory.sh
set -euo pipefail

N=${N:-1000000}
SMALL=${SMALL:-100000}
D=${D:-100}
REQ=${REQ:-200000} # requests per latency test

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

NAME=memory . "$repo/bench/lib.sh"
need_tools redis-server:redis-server redis-benchmark:redis-tools

echo "building memdbd..." >&2
(cd "$repo" && go build -o bin/ ./cmd/memdbd)
memdbd=$repo/bin/memdbd
read -ra port < <(ports 16479 4 1) # redis; memdb binary, RESP, admin

rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
# settled_rss PID: the least VmRSS of 10 samples over 5 s.
settled_rss() {
	local least="" r
	for _ in $(seq 10); do
		r=$(rss_kb "$1")
		[ -z "$least" ] || [ "$r" -lt "$least" ] && least=$r
		sleep 0.5
	done
	echo "$least"
}
# load PORT COUNT: COUNT keys of D-byte values through redis-cli --pipe.
load() {
	awk -v n="$2" -v d="$D" 'BEGIN {
		v = sprintf("%" d "s", ""); gsub(/ /, "v", v)
		for (i = 0; i < n; i++) {
			k = sprintf("key:%012d", i)
			printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, d, v
		}
	}' | redis-cli -h 127.0.0.1 -p "$1" --pipe >"$work/pipe.out" 2>&1 || { cat "$work/pipe.out" >&2; return 1; }
	grep -q "errors: 0," "$work/pipe.out" || { cat "$work/pipe.out" >&2; return 1; }
}
# latency PORT KEYS OUT: redis-benchmark's CSV of GET and SET over KEYS keys
# (its keys are key:NNNNNNNNNNNN, like the loaded ones).
latency() {
	redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -n "$REQ" -c 50 -d "$D" -r "$2" --csv >"$3" 2>>"$work/rb.err"
}
# p99 TEST FILE: the p99 latency (ms) of TEST in a redis-benchmark CSV; p50
# and rps likewise.
p99() { awk -F'"' -v t="$1" '$2 == t {print $14}' "$2"; }
p50() { awk -F'"' -v t="$1" '$2 == t {print $10}' "$2"; }
rps() { awk -F'"' -v t="$1" '$2 == t {printf "%.0f", $4}' "$2"; }

start_redis() {
	mkdir -p "$work/redis"
	redis-server --bind 127.0.0.1 --port "${port[0]}" --dir "$work/redis" --daemonize no --save '' --appendonly no \
		--logfile "$work/redis.log" &
	pid=$!
	pids+=($pid)
	wait_for redis-cli -h 127.0.0.1 -p "${port[0]}" ping
}
start_memdb() { # start_memdb DIR
	local gc=()
	[ -n "${GC:-}" ] && gc=(-gc-percent "$GC")
	"$memdbd" -id 1 -listen "127.0.0.1:${port[1]}" -http "127.0.0.1:${port[3]}" -resp "127.0.0.1:${port[2]}" -data "$1" \
		-rf 1 -fsync none "${gc[@]}" >>"$1.log" 2>&1 &
	pid=$!
	pids+=($pid)
	WAIT_TRIES=6000 wait_for redis-cli -h 127.0.0.1 -p "${port[2]}" ping
}

declare -A R
for s in redis memdb; do
	p=${port[0]}
	[ $s = memdb ] && p=${port[2]}
	echo "$s: $SMALL keys, latency..." >&2
	if [ $s = redis ]; then start_redis; else start_memdb "$work/data-small"; fi
	load "$p" "$SMALL"
	latency "$p" "$SMALL" "$work/$s-small"
	stop_pid "$pid"

	echo "$s: $N keys, memory and latency..." >&2
	if [ $s = redis ]; then start_redis; else start_memdb "$work/data"; fi
	before=$(settled_rss "$pid")
	load "$p" "$N"
	after=$(settled_rss "$pid")
	R[$s,rss]=$(((after - before) * 1024))
	if [ $s = redis ]; then
		R[$s,own]=$(redis-cli -h 127.0.0.1 -p "$p" info memory | awk -F: '$1 == "used_memory" {print $2 + 0}')
	else
		R[$s,own]=$(curl -s "http://127.0.0.1:${port[3]}/metrics" | awk '$1 == "memdb_go_memory_bytes{kind=\"inuse\"}" {print $2}')
	fi
	latency "$p" "$N" "$work/$s-big"
	stop_pid "$pid"
done

echo "memdb: boot replay of $N keys..." >&2
t0=$(date +%s.%N)
start_memdb "$work/data"
t1=$(date +%s.%N)
stop_pid "$pid"
records=$(grep 'msg="node started"' "$work/data.log" | tail -1 | sed 's/.* records=\([0-9]*\).*/\1/')

perkey() { awk -v b="$1" -v n="$N" 'BEGIN {if (b != "") printf "%.0f", b / n; else print "-"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b > 0) printf "%.2f×", a / b; else print "-"}'; }
echo
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
echo "redis $(redis-server --version | awk '{print $3}' | sed 's/v=//'), memdb $(cd "$repo" && git rev-parse --short HEAD), gc-percent ${GC:-default}"
echo "$N keys of $D-byte values; latency: redis-benchmark -c 50 -n $REQ, ms"
echo
echo "| | Redis | memdb | memdb ÷ Redis |"
echo "|---|---|---|---|"
rb=$(perkey "${R[redis,rss]}") mb=$(perkey "${R[memdb,rss]}")
echo "| resident bytes per key | $rb | $mb | $(ratio "$mb" "$rb") |"
echo "| the allocator's count per key (Redis used_memory; memdb Go heap in use) | $(perkey "${R[redis,own]}") | $(perkey "${R[memdb,own]}") | |"
for t in GET SET; do
	for s in redis memdb; do
		R[$s,$t,small]=$(p99 $t "$work/$s-small") R[$s,$t,big]=$(p99 $t "$work/$s-big")
	done
	echo "| p99 $t at $SMALL keys | ${R[redis,$t,small]} | ${R[memdb,$t,small]} | $(ratio "${R[memdb,$t,small]}" "${R[redis,$t,small]}") |"
	echo "| p99 $t at $N keys | ${R[redis,$t,big]} | ${R[memdb,$t,big]} | $(ratio "${R[memdb,$t,big]}" "${R[redis,$t,big]}") |"
	echo "| p99 $t, $N keys ÷ $SMALL | $(ratio "${R[redis,$t,big]}" "${R[redis,$t,small]}") | $(ratio "${R[memdb,$t,big]}" "${R[memdb,$t,small]}") | |"
	echo "| p50 $t at $SMALL / $N keys | $(p50 $t "$work/redis-small") / $(p50 $t "$work/redis-big") | $(p50 $t "$work/memdb-small") / $(p50 $t "$work/memdb-big") | |"
	echo "| $t requests/s at $SMALL / $N keys | $(rps $t "$work/redis-small") / $(rps $t "$work/redis-big") | $(rps $t "$work/memdb-small") / $(rps $t "$work/memdb-big") | |"
done
echo
awk -v t0="$t0" -v t1="$t1" -v r="$records" 'BEGIN {
	printf "memdb boot: %.2f s to answer PING after replaying %s records (%.2fM records/s)\n", t1 - t0, r, r / (t1 - t0) / 1e6
}'
