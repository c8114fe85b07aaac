#!/usr/bin/env bash
# aof-compare.sh — bytes on disk per key: Redis's append-only file before and
# after BGREWRITEAOF, beside memdb's operation log before and after
# `memdb compact`.
#
# Both stores get the same data set: KEYS keys (key:NNNNNNN, 11 bytes) with
# VALUE-byte values, each key written ROUNDS times with a different value
# (so ROUNDS-1 of every ROUNDS writes are dead once overwritten). Redis is
# loaded with redis-cli --pipe, memdb with the memdb client in pipe mode
# (PROCS processes, each owning a slice of the keys, so every key's writes
# stay in order). Everything listens on 127.0.0.1 only, lives in one temp
# directory, and is stopped and removed on exit, even on error or Ctrl-C.
#
# Needs: go, redis-server and redis-cli (Debian: apt-get install redis-server),
# python3 (to generate the data set and pick a free loopback port). Not part
# of `make test`. The redis "after" row is its default rewrite (an RDB
# snapshot as the base file); the row below it rewrites as plain commands.
#
# Usage: bench/aof-compare.sh            (from anywhere in the repository)
#        KEYS=100000 VALUE=100 ROUNDS=4 VALUES=random FSYNC=everysec PROCS=4 bench/aof-compare.sh
set -euo pipefail

export KEYS=${KEYS:-100000}
export VALUE=${VALUE:-100}
export ROUNDS=${ROUNDS:-4}       # one first write and three overwrites
export VALUES=${VALUES:-random}  # random or text (see dataset)
FSYNC=${FSYNC:-everysec}         # memdbd -fsync; Redis keeps its default appendfsync everysec
PROCS=${PROCS:-4}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for tool in go redis-server redis-cli python3; do
	command -v "$tool" >/dev/null || { echo "error: $tool not found (Debian: apt-get install redis-server)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/aof-compare.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# dir_bytes DIR: bytes of the regular files under DIR.
dir_bytes() {
	find "$1" -type f -printf '%s\n' | awk '{n += $1} END {print n + 0}'
}

# dataset FORMAT [PROCS PART]: the writes, one per line for memdb ("set KEY
# VALUE") or as RESP for redis; with PROCS, only the keys k with
# k % PROCS == PART. Round r writes every key once, with a value that is the
# same for both stores. VALUES=random: base64 of random bytes (6 bits of
# entropy per byte, so compression can save at most a quarter); VALUES=text:
# "rR-kK-" padded with x (compresses to almost nothing).
dataset() {
	python3 - "$1" "${2:-1}" "${3:-0}" <<-'PY'
		import base64, os, random, sys
		fmt, procs, part = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
		keys, vlen, rounds = int(os.environ["KEYS"]), int(os.environ["VALUE"]), int(os.environ["ROUNDS"])
		kind = os.environ["VALUES"]
		out = sys.stdout.buffer
		for r in range(1, rounds + 1):
		    rng = random.Random(r)
		    for k in range(keys):
		        if kind == "random":
		            v = base64.b64encode(rng.randbytes((vlen + 3) // 4 * 3))[:vlen]
		        else:
		            v = (b"r%d-k%d-" % (r, k)).ljust(vlen, b"x")[:vlen]
		        if k % procs != part:
		            continue
		        key = b"key:%07d" % k
		        if fmt == "resp":
		            out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(v), v))
		        else:
		            out.write(b"set %s %s\n" % (key, v))
	PY
}

# last_value K: the value the last round wrote to key K.
last_value() {
	KEY=$1 python3 -c '
import base64, os, random
keys, vlen, rounds, k = int(os.environ["KEYS"]), int(os.environ["VALUE"]), int(os.environ["ROUNDS"]), int(os.environ["KEY"])
rng = random.Random(rounds)
for i in range(k + 1):
    if os.environ["VALUES"] == "random":
        v = base64.b64encode(rng.randbytes((vlen + 3) // 4 * 3))[:vlen]
    else:
        v = (b"r%d-k%d-" % (rounds, i)).ljust(vlen, b"x")[:vlen]
print(v.decode())'
}

echo "building memdbd and memdb..." >&2
(cd "$repo" && go build -o "$work/bin/" ./cmd/memdbd ./cmd/memdb)

# ---- Redis ----------------------------------------------------------------
rport=$(free_port)
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$rport" --dir "$work/redis" --appendonly yes \
	--appendfsync everysec --auto-aof-rewrite-percentage 0 --save '' --daemonize no \
	--logfile "$work/redis/redis.log" &
pids+=($!)
rcli() { redis-cli -h 127.0.0.1 -p "$rport" "$@"; }
for _ in $(seq 100); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done
rcli ping >/dev/null

echo "loading redis: $KEYS keys x $ROUNDS rounds of $VALUE-byte $VALUES values..." >&2
t0=$(date +%s.%N)
dataset resp | rcli --pipe >"$work/redis/pipe.out"
t1=$(date +%s.%N)
grep -q 'errors: 0' "$work/redis/pipe.out" || { cat "$work/redis/pipe.out" >&2; exit 1; }
[ "$(rcli dbsize)" = "$KEYS" ] || { echo "error: redis holds $(rcli dbsize) keys, want $KEYS" >&2; exit 1; }
got=$(rcli get "$(printf 'key:%07d' $((KEYS - 1)))")
[ "$got" = "$(last_value $((KEYS - 1)))" ] || { echo "error: redis get of the last key = $got" >&2; exit 1; }
sleep 1.5 # appendfsync everysec: let the last second reach the file
redis_before=$(dir_bytes "$work/redis/appendonlydir")

# rewrite N: run BGREWRITEAOF, the Nth since start, and wait for it.
rewrite() {
	local info
	rcli bgrewriteaof >/dev/null
	for _ in $(seq 600); do
		info=$(rcli info persistence | tr -d '\r')
		if grep -q '^aof_rewrite_in_progress:0' <<<"$info" && grep -q '^aof_rewrite_scheduled:0' <<<"$info" &&
			grep -q "^aof_rewrites:$1\$" <<<"$info"; then
			break
		fi
		sleep 0.1
	done
	grep -q '^aof_last_bgrewrite_status:ok' <<<"$info" || { echo "error: BGREWRITEAOF did not finish ok:" >&2; echo "$info" >&2; exit 1; }
	sleep 1.5 # the rewrite's history files are removed in the background
}
# Redis's default: the rewritten AOF starts with an RDB snapshot.
rewrite 1
redis_after=$(dir_bytes "$work/redis/appendonlydir")
redis_files=$(cd "$work/redis/appendonlydir" && ls -l | awk 'NR > 1 {printf "%s(%d) ", $9, $5}')
# And a rewrite as plain commands, as before Redis 4.
rcli config set aof-use-rdb-preamble no >/dev/null
rewrite 2
redis_resp=$(dir_bytes "$work/redis/appendonlydir")
rcli shutdown nosave >/dev/null 2>&1 || true

# ---- memdb ----------------------------------------------------------------
mkdir -p "$work/memdb/data"
"$work/bin/memdbd" -listen 127.0.0.1:0 -http "" -data "$work/memdb/data" -fsync "$FSYNC" 2>"$work/memdb/memdbd.log" &
pids+=($!)
maddr=
for _ in $(seq 200); do
	maddr=$(sed -n 's/.*memdbd ready.* listen=\([^ ]*\).*/\1/p' "$work/memdb/memdbd.log")
	[ -n "$maddr" ] && break
	sleep 0.05
done
[ -n "$maddr" ] || { echo "error: memdbd did not start:" >&2; cat "$work/memdb/memdbd.log" >&2; exit 1; }
case "$maddr" in 127.0.0.1:*) ;; *) echo "error: memdbd listens on $maddr, not loopback" >&2; exit 1 ;; esac

echo "loading memdb ($FSYNC): the same data set through $PROCS memdb pipes..." >&2
t2=$(date +%s.%N)
loaders=()
for p in $(seq 0 $((PROCS - 1))); do
	dataset memdb "$PROCS" "$p" | "$work/bin/memdb" -addr "$maddr" >"$work/memdb/pipe.$p.out" &
	loaders+=($!)
	pids+=($!)
done
for p in "${loaders[@]}"; do wait "$p"; done
t3=$(date +%s.%N)
oks=$(cat "$work"/memdb/pipe.*.out | grep -c '^ok$' || true)
[ "$oks" = $((KEYS * ROUNDS)) ] || { echo "error: memdb acknowledged $oks of $((KEYS * ROUNDS)) writes" >&2; exit 1; }
ls "$work/memdb/data"/*.base >/dev/null 2>&1 && { echo "error: memdbd compacted on its own during the load; the 'before' number would be wrong" >&2; exit 1; }
sleep 1.5 # -fsync everysec: let the last second reach the file
memdb_before=$(dir_bytes "$work/memdb/data")
"$work/bin/memdb" -addr "$maddr" -timeout 60s compact >/dev/null
memdb_after=$(dir_bytes "$work/memdb/data")
memdb_files=$(cd "$work/memdb/data" && ls -l | awk 'NR > 1 {printf "%s(%d) ", $9, $5}')
# Spot-check what both stores read back against the last round.
for k in 0 $((KEYS / 2)) $((KEYS - 1)); do
	want=$(last_value "$k")
	got=$("$work/bin/memdb" -addr "$maddr" get "$(printf 'key:%07d' "$k")")
	[ "$got" = "$want" ] || { echo "error: memdb get key $k = $got, want $want" >&2; exit 1; }
done

# ---- report ---------------------------------------------------------------
raw=$((KEYS * (11 + VALUE)))
per() { awk -v b="$1" -v k="$KEYS" 'BEGIN {printf "%.1f", b / k}'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }
echo
echo "data set: $KEYS keys x $ROUNDS writes each, 11-byte keys, $VALUE-byte $VALUES values ($((KEYS * ROUNDS)) writes; live key+value bytes $raw = $(per $raw) per key)"
echo "load time: redis-cli --pipe $(secs "$t0" "$t1")s; memdb ($PROCS pipe-mode clients, -fsync $FSYNC) $(secs "$t2" "$t3")s"
echo "machine: $(uptime)"
echo
printf '%-44s %14s %12s\n' "store" "bytes" "bytes/key"
printf '%-44s %14d %12s\n' "redis $(redis-server --version | awk '{print $3}') AOF before BGREWRITEAOF" "$redis_before" "$(per "$redis_before")"
printf '%-44s %14d %12s\n' "redis AOF after BGREWRITEAOF" "$redis_after" "$(per "$redis_after")"
printf '%-44s %14d %12s\n' "  same, aof-use-rdb-preamble no" "$redis_resp" "$(per "$redis_resp")"
printf '%-44s %14d %12s\n' "memdb log before compaction" "$memdb_before" "$(per "$memdb_before")"
printf '%-44s %14d %12s\n' "memdb log after memdb compact" "$memdb_after" "$(per "$memdb_after")"
echo
echo "redis appendonlydir after rewrite: $redis_files"
echo "memdb data dir after compaction:   $memdb_files"
