#!/usr/bin/env bash
# bench/ab.sh: two builds side by side in one sitting, for measuring one change at a time. Two
# clusters (a controller and 4 workers each, default configuration) run at once: A from JAR_A on
# ports 8000.., B from JAR_B on 9000... Both are preloaded with 100,000 keys of 100 B (straight to their
# owners) and warmed up
# (JIT seconds of 50/50 to worker1 each), then ROUNDS rounds of PUT A, PUT B, GET A, GET B (closed
# loop, C connections, every request to worker1, DUR seconds each), so that the machine's noise hits
# both alike. For each run: ops/s, p50/p99 and the cluster's CPU per request (its 5 JVMs, measured
# over that run only; the idle cluster's own background work is in it too, a few us per request).
#
# Usage: bench/ab.sh JAR_A JAR_B     DUR (15), JIT (90), C (32), ROUNDS (2); ENV_A, ENV_B: settings for
#        one cluster's nodes only (e.g. ENV_B="GROUP_COMMIT_WINDOW=0ms"; the same jar twice compares them)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: bench/ab.sh JAR_A JAR_B" >&2; exit 2; }
JAR_A=$(realpath "$1")
JAR_B=$(realpath "$2")
JAR=$JAR_A
source bench/lib.sh
DUR=${DUR:-15}
JIT=${JIT:-90}
C=${C:-32}
ROUNDS=${ROUNDS:-2}

start_as() { # name jar base-port [settings...]
  local name=$1 jar=$2 port=$3; shift 3
  JAR=$jar BASE_PORT=$port CTRL=http://127.0.0.1:$port start_cluster DATA_DIR="$WORK/data-$name" "$@"
  local k; for k in "${!PIDS[@]}"; do [[ $k == *:* ]] || { PIDS[$name:$k]=${PIDS[$k]}; unset "PIDS[$k]"; }; done
}
ticks_of() { # name -> CPU ticks of that cluster's JVMs so far
  local sum=0 k t
  for k in "${!PIDS[@]}"; do
    [[ $k == "$1":* ]] || continue
    t=$(awk '{ print $14 + $15 }' "/proc/${PIDS[$k]}/stat" 2>/dev/null || echo 0)
    sum=$((sum + t))
  done
  echo $sum
}
url_of() { [ "$1" = A ] && echo http://127.0.0.1:8101 || echo http://127.0.0.1:9101; }

# shellcheck disable=SC2086   # ENV_A and ENV_B are lists of assignments
start_as A "$JAR_A" 8000 ${ENV_A:-}
# shellcheck disable=SC2086
start_as B "$JAR_B" 9000 ${ENV_B:-}
# the preload goes straight to the owners (bench --bulk): a cold cluster takes its first 100,000 writes slowly
bench --bulk http://127.0.0.1:8000 --keys 100000 --value-size 100 >/dev/null
bench --bulk http://127.0.0.1:9000 --keys 100000 --value-size 100 >/dev/null
for x in A B; do log "JIT warm-up of $x: $JIT s of 50/50 to worker1"; bench --targets "$(url_of $x)" --put 50 -d "$JIT" --warmup 0 -c "$C" >/dev/null; done

echo "| round | op | build | ops/s | CPU us/op | p50 ms | p99 ms | errors |"
echo "|---:|---|---|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
  for op in PUT GET; do
    for x in A B; do
      opts=(--put 0 --keys 100000); [ $op = PUT ] && opts=(--put 100 --keys 100000 --value-size 100)
      before=$(ticks_of $x)
      line=$(bench --targets "$(url_of $x)" -c "$C" -d "$DUR" --warmup 0 "${opts[@]}")
      after=$(ticks_of $x)
      python3 - "$r" "$op" "$x" "$line" "$((after - before))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
r, op, x, j, ticks, hz = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
print(f"| {r} | {op} | {x} | {j['ops_per_sec']:,.0f} | {ticks / hz * 1e6 / j['requests']:,.0f} | {j['p50_ms']:.2f} | {j['p99_ms']:.2f} | {j['errors']} |", flush=True)
PY
    done
  done
done
