#!/usr/bin/env bash
# Starts N local memdbd nodes in the foreground, data under ./.memdb/.
# Ctrl-C stops them all gracefully (SIGTERM, then waits).
set -euo pipefail
n=${1:-3}
cd "$(dirname "$0")/.."
mkdir -p .memdb
pids=()
stop() {
  trap - INT TERM
  echo
  echo "stopping ${#pids[@]} nodes..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "stopped."
  exit 0
}
trap stop INT TERM
addrs=()
for i in $(seq 1 "$n"); do
  port=$((7400 + (i - 1) * 10))
  addr="127.0.0.1:$port"
  addrs+=("$addr")
  seeds=()
  [ "$i" -gt 1 ] && seeds=(-seeds "127.0.0.1:7400")
  # The RESP front door two ports above: 7402, 7412, ... never Redis's 6379.
  ./bin/memdbd -id "$i" -listen "$addr" -http "127.0.0.1:$((port + 1))" -resp "127.0.0.1:$((port + 2))" \
    -data ".memdb/node$i" -rf "$(( n < 3 ? n : 3 ))" "${seeds[@]}" >".memdb/node$i.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 "$n"); do
  for _ in $(seq 1 50); do
    grep -q ready ".memdb/node$i.log" 2>/dev/null && break
    sleep 0.1
  done
  if ! grep -q ready ".memdb/node$i.log"; then
    echo "error: node $i did not start; its log:" >&2
    cat ".memdb/node$i.log" >&2
    stop
  fi
done
echo "started a $n-node memdb cluster (replication factor $(( n < 3 ? n : 3 )); nodes 2..$n joined through node 1):"
for i in $(seq 1 "$n"); do
  port=$((7400 + (i - 1) * 10))
  echo "  node $i: ${addrs[$((i-1))]}  admin http://127.0.0.1:$((port + 1))/v1/status  redis 127.0.0.1:$((port + 2))  log .memdb/node$i.log"
done
echo
echo "dashboard: http://127.0.0.1:7401/   (any node's admin port: 7401, 7411, ...)"
echo "connect:  ./bin/memdb -addr $(IFS=,; echo "${addrs[*]}") set hello world"
echo "          ./bin/memdb -addr ${addrs[0]}            (interactive prompt)"
echo "          redis-cli -p 7402 set hello world       (any node's Redis port: 7402, 7412, ...)"
echo "Ctrl-C stops the nodes."
wait
