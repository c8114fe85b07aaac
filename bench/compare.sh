#!/usr/bin/env bash
# compare.sh — memdb side by side with Redis (one node) and etcd (three nodes),
# the same load against each, one table of ratios (issue 17, item 6).
#
#   one node, no persistence: redis-server (--save '' --appendonly no) vs memdbd
#     -rf 1 -fsync none through its RESP port; redis-benchmark -t set,get,incr
#     -c 50 -n N1 -q, then set,get with -P 16.
#   one node, durable: redis-server --appendonly yes --appendfsync always vs
#     memdbd -rf 1 -fsync always; redis-benchmark -t set,incr -c 50 -n N2 -q.
#     (A memdb increment is synced before it leaves its leader whatever the
#     fsync mode, so INCR syncs in both rows.)
#   three nodes, fsync on every write: etcd (3 local members) vs memdbd (3 nodes,
#     -rf 3 -fsync always). 100-byte values on 1,000 keys. Writes and
#     linearizable reads at 64 clients (etcd Put / Range without serializable;
#     memdb quorum set / get), then compare-and-set at 1 client (etcd Txn "value
#     == v then put v"; memdb cas v -> v, a Paxos round), and memdb's counters
#     beside its own writes: quorum incr vs quorum set at 1 and 64 clients
#     (etcd has no counter); atomic batches of 2 and 8 keys at 64 clients
#     (etcd Txn of 2 or 8 puts; memdb mset2/mset8) beside memdb's single
#     quorum sets, and at 1 client for latency. etcd is driven by
#     bench/etcdload (gRPC over HTTP/2, 8 connections), since Debian's etcd
#     packages ship no `benchmark` tool; memdb by `memdb bench` (one routing
#     client per connection). Two different load generators: see PAPER §5.12.
#
# Everything listens on 127.0.0.1 on high ports (Redis from 16379, etcd from
# 12379, memdb from 17500; the next free port if taken, never the defaults
# 6379/2379/7400), lives in one temp directory, and every process this script
# started is stopped on exit (by pid; nothing else is touched).
#
# Installs redis-server, redis-tools and etcd-server with apt-get if missing
# (needs root). Needs go. Not part of `make test`; about a minute on 2 cores.
#
# Usage: bench/compare.sh                  (from anywhere in the repository)
#        N1=100000 N2=50000 N3=50000 NCAS=5000 bench/compare.sh
set -euo pipefail

N1=${N1:-100000}   # requests per test, one node without persistence
N2=${N2:-50000}    # one node, fsync always
N3=${N3:-50000}    # three nodes, 64 clients
NCAS=${NCAS:-5000} # three nodes, 1 client compare-and-set
NB=${NB:-20000}    # three nodes, 64 clients, atomic batches of 2 and 8 keys

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---- tools ------------------------------------------------------------------

NAME=compare . "$repo/bench/lib.sh"
need_tools redis-server:redis-server redis-benchmark:redis-tools etcd:etcd-server

echo "building memdb and bench/etcdload..." >&2
(cd "$repo" && go build -o bin/ ./cmd/... && go build -o "$work/etcdload" ./bench/etcdload)
memdbd=$repo/bin/memdbd
memdb=$repo/bin/memdb

# rps TEST FILE: requests per second of TEST in a redis-benchmark / memdb bench /
# etcdload output (progress lines end in \r; the result line is the last).
rps() { tr '\r' '\n' <"$2" | awk -v t="$1:" '$1 == t && $3 == "requests" {r = $2} END {printf "%.0f", r}'; }
p50() { tr '\r' '\n' <"$2" | awk -v t="$1:" '$1 == t && $3 == "requests" {for (i = 1; i <= NF; i++) if ($i ~ /^p50=/) {sub(/^p50=/, "", $i); sub(/,$/, "", $i); r = $i}} END {print r}'; }

declare -A R # results: R[row,redis|etcd|memdb] = ops/s

# ---- one node: Redis vs memdb's RESP port -----------------------------------
start_redis() { # start_redis PORT DIR ARGS...
	local port=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize no --logfile "$dir/redis.log" "$@" &
	rpid=$!
	pids+=($rpid)
	wait_for redis-cli -h 127.0.0.1 -p "$port" ping
}
start_memdb1() { # start_memdb1 FSYNC DIR; RESP on mresp
	local dir=$2
	mkdir -p "$dir"
	"$memdbd" -id 1 -listen "127.0.0.1:${mp[0]}" -http "" -resp "127.0.0.1:${mp[1]}" -data "$dir" -rf 1 -fsync "$1" >"$dir.log" 2>&1 &
	mpid=$!
	pids+=($mpid)
	wait_for redis-cli -h 127.0.0.1 -p "${mp[1]}" ping
}
rb() { redis-benchmark -h 127.0.0.1 "$@" -q 2>>"$work/rb.err"; } # memdb answers CONFIG GET empty: a warning

read -r rport < <(ports 16379 1 1)
read -ra mp < <(ports 17500 2 2) # binary, RESP

echo "one node, no persistence: redis-benchmark -t set,get -c 50 -n $N1 [-P 16]..." >&2
start_redis "$rport" "$work/redis1" --save '' --appendonly no
rb -p "$rport" -t set,get,incr -c 50 -n "$N1" >"$work/r1"
rb -p "$rport" -t set,get -c 50 -n "$N1" -P 16 >"$work/r1p"
stop_pid "$rpid"
start_memdb1 none "$work/memdb1"
rb -p "${mp[1]}" -t set,get,incr -c 50 -n "$N1" >"$work/m1"
rb -p "${mp[1]}" -t set,get -c 50 -n "$N1" -P 16 >"$work/m1p"
stop_pid "$mpid"
for t in SET GET; do
	R[$t,redis]=$(rps $t "$work/r1") R[$t,memdb]=$(rps $t "$work/m1")
	R[$t-P16,redis]=$(rps $t "$work/r1p") R[$t-P16,memdb]=$(rps $t "$work/m1p")
done
R[INCR,redis]=$(rps INCR "$work/r1") R[INCR,memdb]=$(rps INCR "$work/m1")

echo "one node, fsync always: redis-benchmark -t set -c 50 -n $N2..." >&2
start_redis "$rport" "$work/redis2" --save '' --appendonly yes --appendfsync always
rb -p "$rport" -t set,incr -c 50 -n "$N2" >"$work/r2"
stop_pid "$rpid"
start_memdb1 always "$work/memdb2"
rb -p "${mp[1]}" -t set,incr -c 50 -n "$N2" >"$work/m2"
stop_pid "$mpid"
R[SET-fsync,redis]=$(rps SET "$work/r2") R[SET-fsync,memdb]=$(rps SET "$work/m2")
R[INCR-fsync,redis]=$(rps INCR "$work/r2") R[INCR-fsync,memdb]=$(rps INCR "$work/m2")

# ---- three nodes: etcd vs memdb ---------------------------------------------
read -ra ep < <(ports 12379 6 1) # client, peer for each member
echo "three nodes: etcd 3 members..." >&2
cluster=""
for i in 0 1 2; do cluster+="${cluster:+,}e$i=http://127.0.0.1:${ep[$((2 * i + 1))]}"; done
epids=()
for i in 0 1 2; do
	c=${ep[$((2 * i))]} p=${ep[$((2 * i + 1))]}
	etcd --name "e$i" --data-dir "$work/etcd$i" \
		--listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
		--listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
		--initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token compare \
		>"$work/etcd$i.log" 2>&1 &
	epids+=($!)
	pids+=($!)
done
eps="127.0.0.1:${ep[0]},127.0.0.1:${ep[2]},127.0.0.1:${ep[4]}"
wait_for "$work/etcdload" -endpoints "$eps" -c 3 -n 3 -t put
"$work/etcdload" -endpoints "$eps" -c 64 -n "$N3" -d 100 -r 1000 -t put,get >"$work/e3" || echo "warning: etcdload reported failures" >&2
"$work/etcdload" -endpoints "$eps" -c 1 -n "$NCAS" -d 100 -r 1000 -t cas >"$work/e3c" || echo "warning: etcdload reported failures" >&2
"$work/etcdload" -endpoints "$eps" -c 64 -n "$NB" -d 100 -r 1000 -t txn2,txn8 >"$work/e3b" || echo "warning: etcdload reported failures" >&2
for p in "${epids[@]}"; do stop_pid "$p"; done

echo "three nodes: memdb 3 nodes, rf 3, fsync always..." >&2
read -ra np < <(ports 17510 6 1) # listen, http for each node
maddrs=""
mpids=()
for i in 0 1 2; do
	l=${np[$((2 * i))]} h=${np[$((2 * i + 1))]}
	seeds=()
	[ "$i" -gt 0 ] && seeds=(-seeds "127.0.0.1:${np[0]}")
	"$memdbd" -id $((i + 1)) -listen "127.0.0.1:$l" -http "127.0.0.1:$h" -data "$work/memdb3-$i" \
		-rf 3 -fsync always "${seeds[@]}" >"$work/memdb3-$i.log" 2>&1 &
	mpids+=($!)
	pids+=($!)
	maddrs+="${maddrs:+,}127.0.0.1:$l"
	wait_for grep -q ready "$work/memdb3-$i.log"
done
# Joins take turns: wait until every member is normal on node 1's ring.
ring_ready() { [ "$(curl -s "http://127.0.0.1:${np[1]}/v1/ring" | grep -o '"normal"' | wc -l)" -ge 3 ]; }
wait_for ring_ready
mb() { "$memdb" -addr "$maddrs" -consistency quorum bench -q -d 100 -r 1000 "$@"; }
mb -c 64 -n "$N3" -t set,get >"$work/m3"
mb -c 1 -n "$NCAS" -t cas >"$work/m3c"
mb -c 64 -n "$N3" -t set,incr >"$work/m3i"
mb -c 1 -n "$NCAS" -t set,incr >"$work/m3i1"
mb -c 64 -n "$NB" -t set,mset2,mset8 >"$work/m3b"
mb -c 1 -n "$NCAS" -t set,mset2,mset8 >"$work/m3b1"
for p in "${mpids[@]}"; do stop_pid "$p"; done
R[PUT3,etcd]=$(rps PUT "$work/e3") R[PUT3,memdb]=$(rps SET "$work/m3")
R[GET3,etcd]=$(rps GET "$work/e3") R[GET3,memdb]=$(rps GET "$work/m3")
R[CAS3,etcd]=$(rps CAS "$work/e3c") R[CAS3,memdb]=$(rps CAS "$work/m3c")

# ---- report -----------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "-"}'; }
row() { printf '| %s | %s/s | %s/s | %s |\n' "$1" "$2" "$3" "$(ratio "$3" "$2")"; }
echo
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
echo "redis $(redis-server --version | awk '{print $3}' | sed 's/v=//'), etcd $(etcd --version | awk 'NR == 1 {print $3}'), memdb $(cd "$repo" && git rev-parse --short HEAD)"
echo
echo "| load | Redis / etcd | memdb | memdb ÷ other |"
echo "|---|---|---|---|"
row "1 node, SET -c 50 (Redis no persistence; memdb RESP, rf 1, fsync none)" "${R[SET,redis]}" "${R[SET,memdb]}"
row "1 node, GET -c 50" "${R[GET,redis]}" "${R[GET,memdb]}"
row "1 node, SET -c 50 -P 16" "${R[SET-P16,redis]}" "${R[SET-P16,memdb]}"
row "1 node, GET -c 50 -P 16" "${R[GET-P16,redis]}" "${R[GET-P16,memdb]}"
row "1 node, SET -c 50, Redis appendfsync always vs memdb fsync always" "${R[SET-fsync,redis]}" "${R[SET-fsync,memdb]}"
row "1 node, INCR -c 50 (Redis no persistence; memdb fsync none, its increments synced)" "${R[INCR,redis]}" "${R[INCR,memdb]}"
row "1 node, INCR -c 50, Redis appendfsync always vs memdb fsync always" "${R[INCR-fsync,redis]}" "${R[INCR-fsync,memdb]}"
row "3 nodes, write, 64 clients (etcd put; memdb quorum set, rf 3, fsync always)" "${R[PUT3,etcd]}" "${R[PUT3,memdb]}"
row "3 nodes, linearizable read, 64 clients (etcd range; memdb quorum get)" "${R[GET3,etcd]}" "${R[GET3,memdb]}"
row "3 nodes, compare-and-set, 1 client (etcd txn; memdb cas)" "${R[CAS3,etcd]}" "${R[CAS3,memdb]}"
echo
echo "p50 of the 1-client compare-and-set: etcd $(p50 CAS "$work/e3c") ms, memdb $(p50 CAS "$work/m3c") ms"
echo
echo "memdb's counters beside its own writes, 3 nodes, rf 3, fsync always, quorum:"
echo
echo "| load | set | incr | incr ÷ set |"
echo "|---|---|---|---|"
for f in m3i m3i1; do
	c=64
	[ $f = m3i1 ] && c=1
	printf '| %s clients | %s/s | %s/s | %s |\n' $c "$(rps SET "$work/$f")" "$(rps INCR "$work/$f")" "$(ratio "$(rps INCR "$work/$f")" "$(rps SET "$work/$f")")"
done
echo
echo "atomic batches, 3 nodes, rf 3, fsync always, 64 clients (etcd txn of N puts; memdb mset N):"
echo
echo "| keys per batch | etcd txn | memdb batch | memdb ÷ etcd | memdb single quorum sets |"
echo "|---|---|---|---|---|"
for n in 2 8; do
	printf '| %s | %s/s | %s/s | %s | %s/s |\n' $n "$(rps TXN$n "$work/e3b")" "$(rps MSET$n "$work/m3b")" "$(ratio "$(rps MSET$n "$work/m3b")" "$(rps TXN$n "$work/e3b")")" "$(rps SET "$work/m3b")"
done
echo
echo "p50 at 1 client: memdb set $(p50 SET "$work/m3b1") ms, mset2 $(p50 MSET2 "$work/m3b1") ms, mset8 $(p50 MSET8 "$work/m3b1") ms"
echo
echo "raw output:"
for f in r1 m1 r1p m1p r2 m2 e3 m3 e3c m3c m3i m3i1 e3b m3b m3b1; do
	tr '\r' '\n' <"$work/$f" | grep 'requests per second' | sed "s/^/  $f  /"
done
