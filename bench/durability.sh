#!/usr/bin/env bash
# bench/durability.sh: what durability costs, in one run on this machine.
#
#   1. the disk: the latency of one 4 KiB write + fdatasync (dd oflag=dsync, 1000 of them) in the
#      directory the workers write to
#   2. for DURABILITY=fsync, async and memory in turn: a controller and 4 workers as separate JVMs
#      (RF 3, W 2, R 2), JIT (60) seconds of PUTs to warm up, then PUT 100 B closed loop for DUR (15) s:
#      ops/s, p50/p99, and the cluster's CPU time per request; then the ratios fsync/memory and async/memory
#   3. restart: one worker (RF 1) in fsync mode holding KEYS (1,000,000) keys of 100 B: bytes on
#      disk and resident memory per key, then kill -9 and a restart: the time from the process start
#      to the first read answered (every key read back after: none lost)
#
# Usage: bench/durability.sh      DUR, WARM (5), JIT, C (32), KEYS; needs target/ringkv.jar
#        MODES="fsync" NODE_ENV="GROUP_COMMIT_WINDOW=1ms" RESTART=0: one mode, a setting on every node, no restart part
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DUR=${DUR:-15}
WARM=${WARM:-5}
C=${C:-32}
JIT=${JIT:-60}
KEYS=${KEYS:-1000000}
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

mkdir -p "$WORK/data"
DD=$(dd if=/dev/zero of="$WORK/data/dd-test" bs=4k count=1000 oflag=dsync 2>&1 | tail -1)
rm -f "$WORK/data/dd-test"
# the seconds the 1000 writes took are the milliseconds one took
FSYNC_MS=$(echo "$DD" | awk '{ for (i = 1; i <= NF; i++) if ($i == "s,") printf "%.3f", $(i - 1) }')
log "disk: 1000 x (4 KiB write + fdatasync): $DD -> $FSYNC_MS ms each"

for mode in ${MODES:-fsync async memory}; do
  start_cluster DURABILITY=$mode ${NODE_ENV:-}
  T=$(all_workers)
  log "$mode: JIT warm-up, $JIT s of PUTs"
  bench --targets "$T" --put 100 --keys 100000 --value-size 100 -d "$JIT" --warmup 0 -c "$C" >/dev/null
  before=$(cluster_cpu_ticks)
  line=$(bench --label "PUT 100 B, $mode" --targets "$T" --put 100 --keys 100000 --value-size 100 -c "$C" -d "$DUR" --warmup "$WARM")
  after=$(cluster_cpu_ticks)
  line="${line%\}},\"mode\":\"$mode\",\"cluster_cpu_ticks\":$((after - before)),\"ticks_per_sec\":$(getconf CLK_TCK),\"window_s\":$((WARM + DUR))}"
  echo "$line" >>"$RESULTS"
  echo "$line" >&2
  stop_cluster
done

[ "${RESTART:-1}" = 1 ] || { cat "$RESULTS"; exit 0; }
log "restart: one worker (RF 1, fsync) with $KEYS keys of 100 B"
WORKERS=1 start_cluster REPLICATION_FACTOR=1 WRITE_QUORUM=1 READ_QUORUM=1
bench --targets "$(worker_url 1)" --load --keys "$KEYS" --value-size 100 --prefix r- -c 32 >"$WORK/load.json"
HELD=$(curl -s "$(worker_url 1)/status" | sed -n 's/.*"keys":\([0-9]*\).*/\1/p')
[ "$HELD" = "$KEYS" ] || { log "the worker holds $HELD keys, not $KEYS"; exit 1; }
RSS_KB=$(awk '/VmRSS/ { print $2 }' "/proc/${PIDS[worker1]}/status")
kill -9 "${PIDS[worker1]}"
while kill -0 "${PIDS[worker1]}" 2>/dev/null; do sleep 0.05; done
DISK=$(du -sb "$WORK/data/worker1" | awk '{ print $1 }')
T0=$(now)
start_worker 1 REPLICATION_FACTOR=1 WRITE_QUORUM=1 READ_QUORUM=1
wait_for "the restarted worker answering a read" 120 sh -c "curl -sf -m 2 -o /dev/null '$(worker_url 1)/kv?key=r-0'"
RESTART_S=$(since "$T0")
LOADED=$(grep -o 'keys read from [^ ]* in [0-9]* ms' "$WORK/worker1.log" | tail -1)
VERIFY=$(bench --targets "$(worker_url 1)" --verify --keys "$KEYS" --value-size 100 --prefix r- -c 32)
log "verify after the restart: $VERIFY"
echo "$VERIFY" | grep -q '"errors":0,' || { log "keys lost over the restart"; exit 1; }

python3 - "$RESULTS" "$FSYNC_MS" "$KEYS" "$RSS_KB" "$DISK" "$RESTART_S" "$LOADED" <<'PY'
import json, sys
results, fsync_ms, keys, rss_kb, disk, restart_s, loaded = sys.argv[1:8]
rows = {json.loads(l)["mode"]: json.loads(l) for l in open(results)}
keys = int(keys)
print(f"disk: 4 KiB write + fdatasync {float(fsync_ms):.3f} ms")
print("| DURABILITY | PUT 100 B ops/s | p50 ms | p99 ms | cluster CPU µs per PUT | ops/s vs memory | errors |")
print("|---|---|---|---|---|---|---|")
mem = rows["memory"]["ops_per_sec"]
for m in ("fsync", "async", "memory"):
    r = rows[m]
    n = r["requests"] * (r["window_s"] / r["seconds"])   # the CPU window includes the warm-up
    cpu_us = r["cluster_cpu_ticks"] / r["ticks_per_sec"] / n * 1e6
    print(f"| {m} | {r['ops_per_sec']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {cpu_us:,.0f} | {r['ops_per_sec'] / mem:.2f} | {r['errors']} |")
print(f"restart of one worker holding {keys:,} keys of 100 B (fsync): process start to the first read answered "
      f"{float(restart_s):.1f} s ({loaded}); every key read back after it")
print(f"per key: {int(disk) / keys:,.1f} bytes on disk (DATA_DIR after kill -9), {int(rss_kb) * 1024 / keys:,.1f} bytes resident "
      f"(the worker's RSS with every key loaded, JVM included)")
PY
