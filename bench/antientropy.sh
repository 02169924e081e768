#!/usr/bin/env bash
# bench/antientropy.sh: how anti-entropy brings diverged replicas back together, what it sends, and
# what clients feel meanwhile. A controller and 4 workers; KEYS keys (1,000,000) of 100 B at 3 copies,
# preloaded straight to their owners (bench --bulk) with 1% of worker2's keys diverged: a third
# missing on worker2, a third older on worker2, a third deleted on worker2 only. Then a foreground
# load (open loop, RATE requests/s, 50/50 PUT/GET on other keys) runs in slices of 5 s until every
# diverged copy is repaired. The anti-entropy interval is long enough (INTERVAL, 240 s: a worker's
# first round starts between 0.5 and 1.5 intervals after it did) that the first round comes after
# the preload and the JIT warm-up, as a round would on a cluster that has run for a while.
#
# Prints: the time from the first exchange of the first round to the moment every diverged copy was
# repaired (and from the end of the preload, which includes the wait for the round); the bytes the
# exchanges sent (tree nodes, key listings of the differing segments, copies) against the size of
# the entries that had to be copied; the foreground's p99 in the slices before the round and in those
# during it; and a check of 300 diverged keys: every owner's own copy at the same version.
#
# Usage: [INTERVAL=240] [JIT=60] bench/antientropy.sh [KEYS] [RATE]   (1000000, 500)   needs target/ringkv.jar
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-1000000}
RATE=${2:-500}
INTERVAL=${INTERVAL:-240}
JIT=${JIT:-60}
JAVA_OPTS=${JAVA_OPTS:--Xms2g -Xmx2g -XX:+UseG1GC}
source bench/lib.sh

status() { curl -s "$(worker_url "$1")/status"; }
aae() { # field -> the sum over the 4 workers of anti_entropy.<field> (a dotted path)
  local sum=0 i v
  for i in 1 2 3 4; do
    v=$(status "$i" | python3 -c 'import json,sys; d=json.load(sys.stdin)["anti_entropy"]
for p in sys.argv[1].split("."): d=d[p]
print(d)' "$1")
    sum=$((sum + v))
  done
  echo $sum
}
start_cluster ANTI_ENTROPY_INTERVAL="${INTERVAL}s"
T=$(now)
log "writing $KEYS keys of 100 B straight to their 3 owners, 1% of worker2's keys diverged"
java -Xmx1g -jar "$BENCH_JAR" bench --bulk "$CTRL" --keys "$KEYS" --value-size 100 --prefix ae- --diverge worker2 >"$WORK/bulk.out"
LOAD=$(tail -1 "$WORK/bulk.out")
T_LOADED=$(now)
log "written in $(since "$T") s: $LOAD"
DIVERGED=$(json_field diverged "$LOAD"); DIFFERING_BYTES=$(json_field differing_bytes "$LOAD"); COPIES=$(json_field copies_to_make "$LOAD")
check_no_round() { [ "$(aae rounds)" -eq 0 ] || { log "FAILED: an anti-entropy round ran before the measurement: raise INTERVAL"; exit 1; }; }
check_no_round

log "JIT warm-up of the client path: $JIT s"
bench --targets "$(all_workers)" --put 50 --keys 100000 --prefix fg- -c 16 -d "$JIT" --warmup 0 >/dev/null
check_no_round

log "foreground at $RATE/s (5 s slices) until every diverged copy is repaired (first rounds 0.5-1.5 x ${INTERVAL} s after the start)"
: >"$WORK/slices"
REPAIRED0=$(aae keys_repaired); T_FIRST=""; T_REPAIRED=""
while true; do
  S0=$(now); R0=$(aae exchanges)
  SLICE=$(bench --targets "$(all_workers)" --rate "$RATE" --put 50 --keys 100000 --prefix fg- -c 16 -d 5 --warmup 0)
  R1=$(aae exchanges); REPAIRED=$(($(aae keys_repaired) - REPAIRED0))
  ACTIVE=$([ "$R1" -gt "$R0" ] && echo during || echo before)
  [ -z "$T_FIRST" ] && [ "$ACTIVE" = during ] && T_FIRST=$S0
  echo "$ACTIVE $(json_field p99_ms "$SLICE") $(json_field ops_per_sec "$SLICE") $(json_field errors "$SLICE")" >>"$WORK/slices"
  log "slice: $ACTIVE exchanges $R0->$R1, repaired $REPAIRED of $COPIES, p99 $(json_field p99_ms "$SLICE") ms"
  # every copy that had to be made was made (the check below reads the owners' copies themselves)
  if [ "$REPAIRED" -ge "$COPIES" ]; then T_REPAIRED=$(now); break; fi
  awk -v a="$T_LOADED" -v b="$(now)" -v d="$((INTERVAL * 4 + 300))" 'BEGIN { exit !(b - a > d) }' && { log "FAILED: no agreement"; exit 1; }
done

sleep 2   # the last batch of a repair may still be on its way to disk
# 300 of the diverged keys: every owner's own copy (read without repair) at the same version
MISMATCH=0
for key in $(grep '^diverged ' "$WORK/bulk.out" | awk '{print $2}' | head -300); do
  vs=""
  for node in $(curl -s "$CTRL/mapping?key=$key" | python3 -c 'import json,sys; print(" ".join(m["node_id"] for m in json.load(sys.stdin)["mapping"]))'); do
    vs="$vs $(curl -s "$(worker_url "${node#worker}")/replicate?key=$key" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("version"))')"
  done
  [ "$(echo $vs | tr ' ' '\n' | sort -u | wc -l)" -eq 1 ] || { MISMATCH=$((MISMATCH + 1)); log "still apart: $key:$vs"; }
done

TREE=$(aae bytes_exchanged.trees); LISTS=$(aae bytes_exchanged.key_listings); ENTRIES=$(aae bytes_exchanged.entries)
python3 - "$KEYS" "$DIVERGED" "$COPIES" "$DIFFERING_BYTES" "$TREE" "$LISTS" "$ENTRIES" "$(awk -v a="$T_FIRST" -v b="$T_REPAIRED" 'BEGIN{print b-a}')" \
  "$(awk -v a="$T_LOADED" -v b="$T_REPAIRED" 'BEGIN{print b-a}')" "$INTERVAL" "$MISMATCH" "$WORK/slices" <<'PY'
import sys
keys, diverged, copies, diff_bytes, tree, lists, entries = map(int, sys.argv[1:8])
repair_s, since_load_s, interval, mismatch, slices = float(sys.argv[8]), float(sys.argv[9]), sys.argv[10], int(sys.argv[11]), sys.argv[12]
rows = [l.split() for l in open(slices)]
def p99(kind):
    xs = [float(r[1]) for r in rows if r[0] == kind]
    return f"{max(xs):.1f} ms (worst of {len(xs)} slices of 5 s; median {sorted(xs)[len(xs)//2]:.1f})" if xs else "none"
errors = sum(int(r[3]) for r in rows)
total = tree + lists + entries
print(f"{keys} keys, {diverged} of worker2's keys diverged ({copies} copies to make, {diff_bytes} bytes of entries)")
print(f"time until every diverged copy was repaired: {repair_s:.1f} s from the first exchange of the first round "
      f"({since_load_s:.1f} s after the preload, with ANTI_ENTROPY_INTERVAL={interval}s)")
print(f"bytes exchanged: {total} = trees {tree} + key listings {lists} + copies {entries}; "
      f"copies / differing entries = {entries / diff_bytes:.2f}; total / (differing entries + trees) = {total / (diff_bytes + tree):.2f} (goal <= 2)")
print(f"foreground p99: before the round {p99('before')}, during it {p99('during')}; errors {errors}")
print(f"check of 300 diverged keys: {300 - mismatch} with every owner at the same version, {mismatch} apart")
PY
