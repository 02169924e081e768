#!/usr/bin/env bash
# failover.sh: the seed's failure demo on five separate processes, measured.
#
# Starts a controller and four workers (each its own JVM, on 127.0.0.1, the seed's ports unless
# BASE_PORT is set), writes KEYS keys, kill -9's the primary of one key, and prints:
#   - the time from the kill until the controller shows the worker DOWN,
#   - the time from DOWN until every key is back at 3 copies on the UP workers
#     (the sum of the workers' live keys equals 3 x KEYS, with each copy readable),
#   - after restarting the killed worker with the same NODE_ID, the time until it is UP and
#     every key is again at exactly 3 copies.
# Exits non-zero when a step does not happen within its deadline or a sampled key is lost.
#
# Usage: scripts/failover.sh [KEYS]        (default 100000; needs target/ringkv.jar: mvn -B package)
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-100000}
JAR=${JAR:-target/ringkv.jar}
BASE_PORT=${BASE_PORT:-8000}
CTRL_PORT=$BASE_PORT
WORKER_PORTS=($((BASE_PORT + 101)) $((BASE_PORT + 201)) $((BASE_PORT + 301)) $((BASE_PORT + 401)))
LOGS=$(mktemp -d -t ringkv-failover.XXXXXX)
JAVA_OPTS=${JAVA_OPTS:--Xmx1g -XX:+UseParallelGC}
declare -A PIDS

[ -f "$JAR" ] || { echo "no $JAR: run 'mvn -B package -DskipTests' first" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_worker() { # id port
  NODE_ID=$1 PORT=$2 ADVERTISE_HOST=127.0.0.1 CONTROLLER_ADDR=http://127.0.0.1:$CTRL_PORT DATA_DIR="$LOGS/data" \
    java $JAVA_OPTS -jar "$JAR" worker >>"$LOGS/$1.log" 2>&1 &
  PIDS[$1]=$!
}
wait_for() { # description deadline-seconds command...
  local what=$1 deadline=$2; shift 2
  local t0; t0=$(now)
  until "$@"; do
    if awk -v a="$t0" -v b="$(now)" -v d="$deadline" 'BEGIN { exit !(b - a > d) }'; then
      echo "FAILED: $what not within ${deadline}s (logs in $LOGS)" >&2; exit 1
    fi
    sleep 0.02
  done
}
up_count() { curl -s "http://127.0.0.1:$CTRL_PORT/nodes" | grep -o '"status":"UP"' | wc -l; }
all_up() { [ "$(up_count)" -eq 4 ]; }
is_down() { curl -s "http://127.0.0.1:$CTRL_PORT/nodes" | grep -q "\"$1\":{[^}]*\"status\":\"DOWN\""; }
total_keys() { # sum of live keys over the given ports
  local sum=0 k
  for p in "$@"; do k=$(curl -s "http://127.0.0.1:$p/status" | sed -n 's/.*"keys":\([0-9]*\).*/\1/p'); sum=$((sum + ${k:-0})); done
  echo $sum
}
copies_are() { [ "$(total_keys "${@:2}")" -eq "$1" ]; }

echo "== starting controller + 4 workers as separate processes (logs: $LOGS)"
PORT=$CTRL_PORT java $JAVA_OPTS -jar "$JAR" controller >>"$LOGS/controller.log" 2>&1 &
PIDS[controller]=$!
for i in 1 2 3 4; do start_worker "worker$i" "${WORKER_PORTS[$((i - 1))]}"; done
T=$(now); wait_for "4 workers UP" 60 all_up; echo "   4 workers UP after $(since "$T") s"

TARGETS=$(printf 'http://127.0.0.1:%s,' "${WORKER_PORTS[@]}"); TARGETS=${TARGETS%,}
echo "== writing $KEYS keys through all workers"
java -jar "$JAR" bench --load --keys "$KEYS" --targets "$TARGETS" -c 32 --prefix fo- 2>/dev/null | head -1
wait_for "3 copies of every key" 60 copies_are $((3 * KEYS)) "${WORKER_PORTS[@]}"

KEY=fo-0
PRIMARY=$(curl -s "http://127.0.0.1:$CTRL_PORT/mapping?key=$KEY" | sed -n 's/.*"mapping":\[{"node_id":"\([^"]*\)".*/\1/p')
echo "== kill -9 $PRIMARY (the primary of $KEY)"
kill -9 "${PIDS[$PRIMARY]}"; T_KILL=$(now)
wait_for "$PRIMARY DOWN" 10 is_down "$PRIMARY"; DOWN_S=$(since "$T_KILL"); T_DOWN=$(now)
echo "   DOWN after $DOWN_S s"
SURVIVORS=(); for i in 1 2 3 4; do [ "worker$i" = "$PRIMARY" ] || SURVIVORS+=("${WORKER_PORTS[$((i - 1))]}"); done
wait_for "3 copies after the failure" 120 copies_are $((3 * KEYS)) "${SURVIVORS[@]}"; COPIES_S=$(since "$T_DOWN")
echo "   every key back at 3 copies $COPIES_S s after DOWN"

echo "== reading 2000 sampled keys from every surviving worker"
LOST=0
for n in $(seq 0 $((KEYS / 2000 > 0 ? KEYS / 2000 : 1)) $((KEYS - 1)) | head -2000); do
  p=${SURVIVORS[$((n % ${#SURVIVORS[@]}))]}
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/kv?key=fo-$n" | grep -q 200 || LOST=$((LOST + 1))
done
echo "   keys not readable: $LOST"
[ "$LOST" -eq 0 ] || { echo "FAILED: acknowledged writes lost" >&2; exit 1; }

echo "== restarting $PRIMARY with the same NODE_ID"
idx=${PRIMARY#worker}; T_RESTART=$(now)
start_worker "$PRIMARY" "${WORKER_PORTS[$((idx - 1))]}"
wait_for "$PRIMARY UP again" 60 all_up; UP_S=$(since "$T_RESTART")
wait_for "exactly 3 copies after the rejoin" 120 copies_are $((3 * KEYS)) "${WORKER_PORTS[@]}"; REJOIN_S=$(since "$T_RESTART")
echo "   UP after $UP_S s; every key at exactly 3 copies (its share handed back) $REJOIN_S s after the restart"
echo
echo "RESULT keys=$KEYS kill_to_down_s=$DOWN_S down_to_3_copies_s=$COPIES_S restart_to_up_s=$UP_S restart_to_3_copies_s=$REJOIN_S lost=$LOST"
