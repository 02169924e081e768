#!/usr/bin/env bash
# bench/metrics.sh: what the metrics cost, in one run. A controller and 4 workers as separate JVMs
# (default DURABILITY), METRICS=true and METRICS=false in turn, ROUNDS (2) times (A B A B, so that a
# burst of noise on the shared machine hits both alike): JIT (60) s of warm-up, then MIX (PUT 100 B,
# or GET) closed loop for DUR (15) s: ops/s, p50/p99 and the cluster's CPU time per request; then
# the ratios on/off. A scrape of every worker's /metrics every SCRAPE (15) s runs alongside, as the
# ServiceMonitor of k8s/production does.
#
# Usage: bench/metrics.sh      DUR, WARM (5), JIT, C (32), ROUNDS, PUT (100: the % of PUTs), SCRAPE; needs target/ringkv.jar
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DUR=${DUR:-15}
WARM=${WARM:-5}
C=${C:-32}
JIT=${JIT:-60}
ROUNDS=${ROUNDS:-2}
PUT=${PUT:-100}
SCRAPE=${SCRAPE:-15}
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

scrape_loop() { while true; do for i in 1 2 3 4; do curl -s -o /dev/null "$(worker_url "$i")/metrics"; done; sleep "$SCRAPE"; done; }

for round in $(seq 1 "$ROUNDS"); do
  for metrics in true false; do
    start_cluster METRICS=$metrics
    T=$(all_workers)
    log "round $round, METRICS=$metrics: JIT warm-up, $JIT s"
    bench --targets "$T" --put "$PUT" --keys 100000 --value-size 100 -d "$JIT" --warmup 0 -c "$C" >/dev/null
    scrape_loop & SCRAPER=$!
    before=$(cluster_cpu_ticks)
    line=$(bench --label "metrics=$metrics" --targets "$T" --put "$PUT" --keys 100000 --value-size 100 -c "$C" -d "$DUR" --warmup "$WARM")
    after=$(cluster_cpu_ticks)
    kill "$SCRAPER" 2>/dev/null || true
    line="${line%\}},\"metrics\":\"$metrics\",\"round\":$round,\"cluster_cpu_ticks\":$((after - before)),\"ticks_per_sec\":$(getconf CLK_TCK),\"window_s\":$((WARM + DUR))}"
    echo "$line" >>"$RESULTS"
    echo "$line" >&2
    stop_cluster
  done
done

python3 - "$RESULTS" "$PUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{sys.argv[2]}% PUT, 100 B, closed loop")
print("| round | METRICS | ops/s | p50 ms | p99 ms | cluster CPU µs per request | errors |")
print("|---|---|---|---|---|---|---|")
cpu = lambda r: r["cluster_cpu_ticks"] / r["ticks_per_sec"] / r["window_s"] / r["ops_per_sec"] * 1e6
for r in rows:
    print(f"| {r['round']} | {r['metrics']} | {r['ops_per_sec']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {cpu(r):.0f} | {r['errors']} |")
for rnd in sorted({r["round"] for r in rows}):
    on = next(r for r in rows if r["round"] == rnd and r["metrics"] == "true")
    off = next(r for r in rows if r["round"] == rnd and r["metrics"] == "false")
    print(f"round {rnd}: with metrics {on['ops_per_sec'] / off['ops_per_sec']:.3f} of the ops/s without, "
          f"{cpu(on) / cpu(off):.3f} of the CPU per request")
PY
