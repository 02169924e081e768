#!/usr/bin/env bash
# bench/profile.sh: where a request's time goes. A controller and 4 workers (default DURABILITY), each
# worker recording a JFR profile; 100,000 keys preloaded, JIT seconds of warm-up, then PUT and GET of
# 100 B (closed loop, C connections, every request to worker1, DUR seconds each) with the cluster's CPU
# per request; then each worker's hottest methods (`jfr view hot-methods`, from a JDK that has it, else
# `jfr summary`). The recordings stay in $OUT (default target/profile).
#
# Usage: bench/profile.sh     DUR (15), JIT (60), C (32), OUT (target/profile); needs target/ringkv.jar
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-target/profile}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# recording from the start: a JFR.start later would deoptimize the compiled request path (its
# instrumented I/O events retransform JDK classes), and the measurement would begin cold
JAVA_OPTS="${JAVA_OPTS:--Xmx1g -XX:+UseParallelGC} -XX:StartFlightRecording=settings=profile,name=p"
source bench/lib.sh
DUR=${DUR:-15}
JIT=${JIT:-60}
C=${C:-32}

start_cluster
W1=$(worker_url 1)
bench --targets "$(all_workers)" --load --keys 100000 --value-size 100 -c 32 >/dev/null
log "JIT warm-up: $JIT s of 50/50 to worker1"
bench --targets "$W1" --put 50 -d "$JIT" --warmup 0 -c "$C" >/dev/null

measure() { # label bench-options...
  local label=$1 before after line; shift
  before=$(cluster_cpu_ticks)
  line=$(bench --targets "$W1" -c "$C" -d "$DUR" --warmup 0 "$@")
  after=$(cluster_cpu_ticks)
  python3 - "$label" "$line" "$((after - before))" "$(getconf CLK_TCK)" "$DUR" <<'PY'
import json, sys
label, j, ticks, hz, dur = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ops = j["ops_per_sec"]
print(f"{label}: {ops:,.0f} ops/s, cluster CPU {ticks / hz * 1e6 / (ops * dur):,.0f} us/op, p50 {j['p50_ms']:.2f} ms, p99 {j['p99_ms']:.2f} ms, errors {j['errors']}")
PY
}

measure "PUT 100 B" --put 100 --keys 100000 --value-size 100
for i in 1 2 3 4; do jcmd "${PIDS[worker$i]}" JFR.dump name=p begin=-"$DUR"s filename="$OUT/put-worker$i.jfr" >/dev/null; done
measure "GET 100 B" --put 0 --keys 100000
for i in 1 2 3 4; do jcmd "${PIDS[worker$i]}" JFR.dump name=p begin=-"$DUR"s filename="$OUT/get-worker$i.jfr" >/dev/null; done

JFR=jfr
for j in /usr/lib/jvm/*/bin/jfr; do "$j" view --help >/dev/null 2>&1 && JFR=$j; done
for f in "$OUT"/put-worker1.jfr "$OUT"/put-worker2.jfr "$OUT"/get-worker1.jfr "$OUT"/get-worker2.jfr; do
  echo "== $(basename "$f")"
  "$JFR" view --width 200 hot-methods "$f" 2>/dev/null | head -40 || "$JFR" summary "$f" | head -30
done
