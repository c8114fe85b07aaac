# lib.sh — what the bench scripts share: a temp directory, the processes
# they started (stopped by pid on exit; nothing else is touched), free
# loopback ports, waiting. Sourced, after `set -euo pipefail`, with NAME set:
#
#   NAME=compare . "$repo/bench/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_free P: nothing listens on 127.0.0.1:P.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# ports BASE COUNT STEP: COUNT free ports BASE, BASE+STEP, ... (moving the
# whole block up by 100 until every one is free).
ports() {
	local base=$1 count=$2 step=$3 i ok out
	while :; do
		ok=1 out=()
		for ((i = 0; i < count; i++)); do
			port_free $((base + i * step)) || { ok=0; break; }
			out+=($((base + i * step)))
		done
		[ $ok = 1 ] && { echo "${out[@]}"; return; }
		base=$((base + 100))
	done
}
# wait_for CMD...: retry CMD for up to 20 s (WAIT_TRIES tenths of a second).
wait_for() {
	for _ in $(seq "${WAIT_TRIES:-200}"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "error: timed out waiting for: $*" >&2
	return 1
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# need_tools COMMAND:PACKAGE...: installs with apt-get the packages whose
# command is missing (needs root); go must be there.
need_tools() {
	local need=() t
	for t in "$@"; do command -v "${t%%:*}" >/dev/null || need+=("${t#*:}"); done
	if [ ${#need[@]} -gt 0 ]; then
		echo "installing ${need[*]} with apt-get..." >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	fi
	command -v go >/dev/null || { echo "error: go not found" >&2; exit 2; }
}
