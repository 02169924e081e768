#!/usr/bin/env bash
# bench/rebalance.sh: how fast the cluster restores the replication factor, and what clients feel
# meanwhile. A controller and 4 workers; KEYS keys (1,000,000) of 100 B at 3 copies each; JIT (180)
# seconds of client load to compile the client path; then a foreground load (open loop, RATE
# requests/s, 50/50 PUT/GET on the same keys) starts, and 5 s into it one worker is killed with
# kill -9. Prints: kill -> DOWN, DOWN ->
# every key back at 3 copies on the 3 survivors, and the foreground's throughput, p50/p99/p99.9
# and errors over the window that contains the failure and the rebalance.
#
# The preload goes straight to the owners (bench --bulk) unless PRELOAD=client: 1,000,000 keys through
# PUT /kv take many minutes on a 2-core machine, and the rebalance is what is measured here.
#
# Usage: [PRELOAD=bulk|client] [JIT=180] bench/rebalance.sh [KEYS] [RATE]   (1000000, 1000)   needs target/ringkv.jar
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-1000000}
RATE=${2:-1000}
JIT=${JIT:-180}            # seconds of client load before the measured window (5 JVMs on 2 cores compile for minutes)
PRELOAD=${PRELOAD:-bulk}   # bulk: straight to the owners (seconds); client: PUT /kv through the workers (minutes)
# G1 and a fixed heap: with ParallelGC, full collections of the growing old generation paused each worker
# for 1-1.7 s under load, past the heartbeat timeout (false DOWNs that restarted the rebalance)
JAVA_OPTS=${JAVA_OPTS:--Xms2g -Xmx2g -XX:+UseG1GC}
source bench/lib.sh

status_keys() { curl -s "$(worker_url "$1")/status" | sed -n 's/.*"keys":\([0-9]*\).*/\1/p'; }
total_keys() { local s=0 i k; for i in "$@"; do k=$(status_keys "$i"); s=$((s + ${k:-0})); done; echo $s; }
# At least 3 copies of every key in all, and every listed worker done rebalancing at the
# controller's epoch. (Not "exactly": a worker called DOWN by mistake while five cold JVMs fight
# for 2 cores leaves a few stray 4th copies behind, until the next view change removes them.)
settled() { # expected workers...
  local epoch s i; epoch=$(curl -s "$CTRL/ring" | sed -n 's/^{"epoch":\([0-9]*\).*/\1/p')
  for i in "${@:2}"; do
    s=$(curl -s "$(worker_url "$i")/status")
    echo "$s" | grep -q "\"epoch\":$epoch," && echo "$s" | grep -q '"rebalancing":false' || return 1
  done
  [ "$(total_keys "${@:2}")" -ge "$1" ]
}

start_cluster
T=$(now)
if [ "$PRELOAD" = client ]; then
  log "writing $KEYS keys of 100 B through the 4 workers (PUT /kv)"
  LOAD=$(bench --targets "$(all_workers)" --load --keys "$KEYS" --value-size 100 --prefix r- -c 32)
else
  log "writing $KEYS keys of 100 B straight to their 3 owners (bench --bulk: POST /replicate batches)"
  LOAD=$(bench --bulk "$CTRL" --keys "$KEYS" --value-size 100 --prefix r-)
fi
log "written in $(since "$T") s: $LOAD"
wait_for "3 copies of every key" 120 settled $((3 * KEYS)) 1 2 3 4

# The bulk preload never ran the client path: warm its JIT up as run.sh does, at the foreground's mix
# (a cold client path serves a few dozen requests/s here, which would be charged to the rebalance)
log "JIT warm-up of the client path: $JIT s of 50/50 (closed loop)"
bench --targets "$(all_workers)" --put 50 --keys "$KEYS" --prefix r- -c 16 -d "$JIT" --warmup 0 >/dev/null

VICTIM=2
FG_SECONDS=30
log "foreground: open loop at $RATE/s, 50/50, for $FG_SECONDS s; kill -9 worker$VICTIM 5 s in"
bench --targets "$(worker_url 1),$(worker_url 3),$(worker_url 4)" --rate "$RATE" --put 50 --keys "$KEYS" --prefix r- \
  -c 16 -d "$FG_SECONDS" --warmup 0 --label "foreground during the rebalance" >"$WORK/fg.json" &
FG=$!
sleep 5
kill -9 "${PIDS[worker$VICTIM]}"; T_KILL=$(now)
wait_for "worker$VICTIM DOWN" 15 sh -c "curl -s $CTRL/nodes | grep -q '\"worker$VICTIM\":{[^}]*\"DOWN\"'"
DOWN_S=$(since "$T_KILL"); T_DOWN=$(now)
wait_for "3 copies on the survivors" 300 settled $((3 * KEYS)) 1 3 4
COPIES_S=$(since "$T_DOWN")
wait $FG
echo "$KEYS keys: kill -9 -> DOWN $DOWN_S s; DOWN -> the survivors done rebalancing with >= 3 copies per key in all $COPIES_S s ($(total_keys 1 3 4) copies)"
echo "foreground ($RATE/s open loop, 50/50, window of $FG_SECONDS s containing the kill and the rebalance): $(cat "$WORK/fg.json")"
