#!/usr/bin/env bash
# bench/memory.sh: the heap one worker needs per key. One controller and one worker (RF 1, W 1, R 1,
# so that the worker holds every key once), KEYS keys (1,000,000) of VALUE bytes (100) written
# through the worker; the live heap (jcmd GC.class_histogram, which runs a full GC first) before
# and after; prints the heap per key, the payload (key and value bytes), the overhead per key
# beyond the payload, and the classes that take the most room.
#
# Usage: bench/memory.sh [KEYS] [VALUE]      needs target/ringkv.jar and the JDK's jcmd
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-1000000}
VALUE=${2:-100}
JAVA_OPTS=${JAVA_OPTS:--Xmx2g -XX:+UseParallelGC}
source bench/lib.sh
command -v jcmd >/dev/null || { echo "jcmd (from the JDK) is needed" >&2; exit 1; }

WORKERS=1 start_cluster REPLICATION_FACTOR=1 WRITE_QUORUM=1 READ_QUORUM=1
PID=${PIDS[worker1]}
live_heap() { jcmd "$PID" GC.class_histogram | awk '/^Total/ { print $3 }'; }
BEFORE=$(live_heap)
log "live heap before: $BEFORE bytes; writing $KEYS keys of $VALUE bytes"
T=$(now)
bench --targets "$(worker_url 1)" --load --keys "$KEYS" --value-size "$VALUE" --prefix k- -c 32 >"$WORK/load.json"
log "written in $(since "$T") s: $(cat "$WORK/load.json")"
KEYS_HELD=$(curl -s "$(worker_url 1)/status" | sed -n 's/.*"keys":\([0-9]*\).*/\1/p')
[ "$KEYS_HELD" = "$KEYS" ] || { log "the worker holds $KEYS_HELD keys, not $KEYS"; exit 1; }
jcmd "$PID" GC.class_histogram >"$WORK/histogram.txt"
AFTER=$(awk '/^Total/ { print $3 }' "$WORK/histogram.txt")
python3 - "$KEYS" "$VALUE" "$BEFORE" "$AFTER" "$WORK/histogram.txt" <<'PY'
import sys
keys, value, before, after, hist = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
key_bytes = sum(len(f"k-{i}") for i in range(keys)) / keys
per_key = (after - before) / keys
print(f"{keys:,} keys of {value} B in one worker: live heap {before/2**20:,.1f} MiB -> {after/2**20:,.1f} MiB; "
      f"{per_key:,.1f} bytes per key = {key_bytes + value:,.1f} of payload (key {key_bytes:.1f} + value {value}) "
      f"+ {per_key - key_bytes - value:,.1f} of overhead")
print("largest classes after the load:")
import re
lines = [l for l in open(hist) if re.match(r"\s*\d+:\s+\d+", l)]
for l in lines[:8]:
    _, n, b, name = l.split(None, 3)
    print(f"  {int(b)/keys:7.1f} B/key  {int(n):>10,} x {name.strip()}")
PY
