#!/usr/bin/env bash
# bench/profile.sh: where a request's CPU time goes. A controller and 4 workers (default DURABILITY);
# 100,000 keys preloaded, JIT seconds of 50/50 warm-up to worker1, then PUT and GET of 100 B (closed
# loop, C connections, every request to worker1, DUR seconds each) with the cluster's CPU per request,
# each worker sampled meanwhile by async-profiler (CPU time, Java, native and kernel frames; taken from
# Maven Central as tools.profiler:async-profiler and attached with jcmd after the warm-up, so nothing
# is deoptimized or slowed before). Prints each worker's hottest frames (self time) and the share of
# samples under chosen frames; the collapsed stacks stay in $OUT (default target/profile), one file per
# worker and operation (flame graphs: async-profiler's converter, or any collapsed-stack viewer).
#
# Usage: bench/profile.sh     DUR (15), JIT (90), C (32), OUT (target/profile), EVENT (cpu; itimer where
#        perf events are not allowed); needs target/ringkv.jar
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DUR=${DUR:-15}
JIT=${JIT:-90}
C=${C:-32}
EVENT=${EVENT:-cpu}
OUT=${OUT:-target/profile}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
AP_VERSION=4.1
LIB=$OUT/libasyncProfiler.so
if [ ! -f "$LIB" ]; then
  mvn -B -q dependency:get -Dartifact=tools.profiler:async-profiler:$AP_VERSION >/dev/null
  unzip -o -j -q "$HOME/.m2/repository/tools/profiler/async-profiler/$AP_VERSION/async-profiler-$AP_VERSION.jar" \
    "linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')/libasyncProfiler.so" -d "$OUT"
fi

start_cluster
W1=$(worker_url 1)
bench --targets "$(all_workers)" --load --keys 100000 --value-size 100 -c 32 >/dev/null
log "JIT warm-up: $JIT s of 50/50 to worker1"
bench --targets "$W1" --put 50 -d "$JIT" --warmup 0 -c "$C" >/dev/null

measure() { # name bench-options...
  local name=$1 before after line i; shift
  for i in 1 2 3 4; do jcmd "${PIDS[worker$i]}" JVMTI.agent_load "$LIB" "\"start,event=$EVENT,interval=1ms,threads\"" >/dev/null; done
  before=$(cluster_cpu_ticks)
  line=$(bench --targets "$W1" -c "$C" -d "$DUR" --warmup 0 "$@")
  after=$(cluster_cpu_ticks)
  for i in 1 2 3 4; do jcmd "${PIDS[worker$i]}" JVMTI.agent_load "$LIB" "\"stop,collapsed,file=$OUT/$name-worker$i.collapsed\"" >/dev/null; done
  python3 - "$name" "$line" "$((after - before))" "$(getconf CLK_TCK)" "$DUR" <<'PY'
import json, sys
label, j, ticks, hz, dur = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ops = j["ops_per_sec"]
print(f"{label}: {ops:,.0f} ops/s, cluster CPU {ticks / hz * 1e6 / (ops * dur):,.0f} us/op, p50 {j['p50_ms']:.2f} ms, p99 {j['p99_ms']:.2f} ms, errors {j['errors']}")
PY
}

measure put --put 100 --keys 100000 --value-size 100
measure get --put 0 --keys 100000
python3 bench/profile_report.py "$OUT"/put-worker1.collapsed "$OUT"/put-worker2.collapsed "$OUT"/get-worker1.collapsed "$OUT"/get-worker2.collapsed
