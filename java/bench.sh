#!/usr/bin/env bash
# Measures the Java client beside the Go client on one real cluster: three
# local memdbd nodes (rf 3, fsync always) on free ports, then the same
# workload from each (Bench.java, TestGoClientLoad in bench_test.go), then
# stops the nodes. Prints one line per measurement. Usage, from the
# repository: make java-test && bash java/bench.sh [OPS]
set -euo pipefail
cd "$(dirname "$0")/.."
ops=${1:-20000}
go build -o bin/ ./cmd/memdbd
dir=$(mktemp -d)
pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
addrs=()
for i in 1 2 3; do
  addr="127.0.0.1:$(port)"
  addrs+=("$addr")
  seeds=()
  [ "$i" -gt 1 ] && seeds=(-seeds "${addrs[0]}")
  ./bin/memdbd -id "$i" -listen "$addr" -http "127.0.0.1:$(port)" -data "$dir/node$i" -rf 3 \
    -fsync always -client-key bench "${seeds[@]}" >"$dir/node$i.log" 2>&1 &
  pids+=($!)
done
all=$(IFS=,; echo "${addrs[*]}")
# Joins take turns; wait until node 3 is normal.
for _ in $(seq 1 300); do
  grep -q 'phase=normal' "$dir/node3.log" 2>/dev/null && break
  sleep 0.1
done
sleep 1
echo "cluster: $all; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
java -cp java/target/classes:java/target/test-classes io.memdb.client.Bench "$all" bench "$ops"
go test -count=1 -v -run TestGoClientLoad ./java -load.addrs "$all" -load.key bench -load.ops "$ops" | grep '^go '
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
