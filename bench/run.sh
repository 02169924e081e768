#!/usr/bin/env bash
# bench/run.sh: the standard scenarios on this machine, each as a ratio to the bare HTTP ceiling
# measured in the same run, written into bench/README.md (between the "results" markers).
#
#   1. the ceiling: nginx (one worker process) answering a fixed 200, loaded by the same load
#      generator with the same connections (before and after the scenarios; the mean is used)
#   2. a controller and 4 workers as separate JVMs (RF 3, W 2, R 2), preloaded with 100,000 keys of
#      100 bytes and 10,000 keys of 10 KiB, then JIT (60) seconds of mixed load: five JVMs on 2 cores
#      take minutes to compile Pekko's request path, and a cold JVM is several times slower
#   3. closed loop, C connections sending to the 4 workers in turn (random keys: most PUTs are
#      routed to their primary by another worker): PUT, GET and 50/50 with 100 B and 10 KiB values,
#      and 50/50 on Zipf keys
#   4. open loop at half of the measured peak, PUT and GET of 100 B: latency percentiles that count
#      from when each request was due (coordinated omission corrected)
# Everything (5 JVMs, the load generator, nginx) shares this machine's cores, as a user's laptop would.
#
# Usage: bench/run.sh [--no-readme]     DUR (15) seconds per scenario, WARM (5) seconds before each,
#        JIT (60) seconds of warm-up after the preload,
#        C (32) connections; needs target/ringkv.jar (mvn -B package -DskipTests); installs nginx-light
#        if missing (apt-get); uses wrk too when it is installed, as a cross-check of the ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DUR=${DUR:-15}
WARM=${WARM:-5}
C=${C:-32}
JIT=${JIT:-60}
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
head -1 /proc/stat >"$WORK/cpu.start"   # for the share of CPU time the hypervisor took (steal)

run() { # label bench-options...
  local label=$1; shift
  log "$label"
  local before after line
  before=$(cluster_cpu_ticks)
  line=$(bench --label "$label" -c "$C" -d "$DUR" --warmup "$WARM" "$@")
  after=$(cluster_cpu_ticks)
  # the cluster's CPU time per request (warm-up included on both sides): unlike ops/s, it does not
  # move when other tenants of a shared machine take the CPU away
  line="${line%\}},\"cluster_cpu_ticks\":$((after - before)),\"ticks_per_sec\":$(getconf CLK_TCK),\"window_s\":$((WARM + DUR))}"
  echo "$line" >>"$RESULTS"
  echo "$line" >&2
}

start_ceiling
CEIL=http://127.0.0.1:$CEILING_PORT
run "ceiling (before)" --targets "$CEIL" --put 0
WRK_CEILING=""
if command -v wrk >/dev/null; then
  WRK_CEILING=$(wrk -t2 -c"$C" -d10s "$CEIL/" | awk '/Requests\/sec/ { print $2 }')
  log "wrk -t2 -c$C against the same nginx: $WRK_CEILING req/s"
fi

start_cluster
T=$(all_workers)
log "preloading 100,000 keys of 100 B and 10,000 of 10 KiB"
bench --targets "$T" --load --keys 100000 --value-size 100 --prefix key- -c 32 >"$WORK/load1.json"
bench --targets "$T" --load --keys 10000 --value-size 10240 --prefix big- -c 32 >"$WORK/load2.json"
log "JIT warm-up: $JIT s of 50/50"
bench --targets "$T" --put 50 -d "$JIT" --warmup 0 -c "$C" >/dev/null

run "PUT 100 B" --targets "$T" --put 100 --keys 100000 --value-size 100
run "GET 100 B" --targets "$T" --put 0 --keys 100000
run "50/50 100 B" --targets "$T" --put 50 --keys 100000 --value-size 100
run "50/50 100 B, Zipf 0.99" --targets "$T" --put 50 --keys 100000 --value-size 100 --zipf 0.99
run "PUT 10 KiB" --targets "$T" --put 100 --keys 10000 --value-size 10240 --prefix big-
run "GET 10 KiB" --targets "$T" --put 0 --keys 10000 --prefix big-
run "50/50 10 KiB" --targets "$T" --put 50 --keys 10000 --value-size 10240 --prefix big-

PUT_PEAK=$(grep '"label":"PUT 100 B"' "$RESULTS" | python3 -c 'import json,sys; print(int(json.loads(sys.stdin.read())["ops_per_sec"]))')
GET_PEAK=$(grep '"label":"GET 100 B"' "$RESULTS" | python3 -c 'import json,sys; print(int(json.loads(sys.stdin.read())["ops_per_sec"]))')
run "PUT 100 B, open loop at half the peak" --targets "$T" --put 100 --keys 100000 --value-size 100 --rate $((PUT_PEAK / 2))
run "GET 100 B, open loop at half the peak" --targets "$T" --put 0 --keys 100000 --rate $((GET_PEAK / 2))

run "ceiling (after)" --targets "$CEIL" --put 0

head -1 /proc/stat >"$WORK/cpu.end"
python3 bench/table.py "$RESULTS" "${WRK_CEILING:-}" "$C" "$DUR" "$WORK/cpu.start" "$WORK/cpu.end" ${1:+$1}
