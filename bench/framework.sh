#!/usr/bin/env bash
# bench/framework.sh: what one node costs on top of its framework, in one run. Four servers, one
# after the other, each loaded by the same generator (closed loop, C connections, WARM seconds of
# warm-up, DUR measured): nginx answering a fixed 200 (this machine's HTTP ceiling), Pekko HTTP
# answering a fixed 200 with the nodes' configuration (bench/FrameworkCeiling: the framework's
# ceiling), and one ringkv worker holding every key (RF 1, W 1, R 1: no replication) serving GET and
# PUT of 100 B. Prints ops/s, the ratio to nginx and the server process's CPU per request.
#
# Usage: bench/framework.sh     DUR (15), WARM (15), C (32), NODE_THREADS (2); needs target/ringkv.jar
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_THREADS=${NODE_THREADS:-2}   # each server has the machine to itself (with the generator): one thread per core
source bench/lib.sh
DUR=${DUR:-15}
WARM=${WARM:-15}
C=${C:-32}

measure() { # label pid url bench-options...  -> one line: label, ops/s, ratio, CPU us/op
  local label=$1 pid=$2 url=$3 before after line; shift 3
  before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  line=$(bench --targets "$url" -c "$C" -d "$DUR" --warmup "$WARM" "$@")
  after=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  python3 - "$label" "$line" "$((after - before))" "$(getconf CLK_TCK)" "$((WARM + DUR))" "${NGINX_OPS:-0}" <<'PY'
import json, sys
label, j, ticks, hz, window, nginx = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
ops = j["ops_per_sec"]
cpu_us = ticks / hz * 1e6 / (ops * window)   # the warm-up's requests are in the CPU time too: count them at the same rate
ratio = f"{ops / nginx:.3f}" if nginx else "1.000"
print(f"| {label} | {ops:,.0f} | {ratio} | {cpu_us:,.0f} | {j['p99_ms']:.2f} | {j['errors']} |")
PY
}

echo "| server (one process) | ops/s | ratio to nginx | server CPU us/op | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|---:|"
start_ceiling
NGINX_PID=$(pgrep -P "$(cat "$WORK/nginx.pid")" | head -1)   # the worker process, not the master
LINE=$(measure "nginx, fixed 200" "$NGINX_PID" "http://127.0.0.1:$CEILING_PORT" --put 0)
echo "$LINE"
NGINX_OPS=$(echo "$LINE" | awk -F'|' '{ gsub(/[ ,]/, "", $3); print $3 }')
export NGINX_OPS

PEKKO_PORT=$((CEILING_PORT + 1))
DISPATCHER_THREADS=$NODE_THREADS java $JAVA_OPTS -cp "$JAR" io.ringkv.bench.FrameworkCeiling "$PEKKO_PORT" >"$WORK/pekko.log" 2>&1 &
PIDS[pekko]=$!
wait_for "Pekko HTTP on $PEKKO_PORT" 90 curl -sf -o /dev/null "http://127.0.0.1:$PEKKO_PORT/"
measure "Pekko HTTP, fixed 200" "${PIDS[pekko]}" "http://127.0.0.1:$PEKKO_PORT" --put 0
kill "${PIDS[pekko]}"; unset 'PIDS[pekko]'

WORKERS=1 start_cluster REPLICATION_FACTOR=1 WRITE_QUORUM=1 READ_QUORUM=1
bench --targets "$(worker_url 1)" --load --keys 100000 --value-size 100 -c "$C" >/dev/null
measure "ringkv worker, GET 100 B (RF 1)" "${PIDS[worker1]}" "$(worker_url 1)" --put 0 --keys 100000
measure "ringkv worker, PUT 100 B (RF 1)" "${PIDS[worker1]}" "$(worker_url 1)" --put 100 --keys 100000 --value-size 100
