#!/usr/bin/env bash
# bench/compare.sh: ringkv next to etcd, and both next to the two ceilings, in one sitting on this
# machine, with the same load generator and the same C connections for every system:
#
#   nginx    one worker process answering a fixed 200: this machine's bare HTTP ceiling (GET only)
#   Pekko    Pekko HTTP answering a fixed 200 with the nodes' configuration (bench/FrameworkCeiling,
#            DISPATCHER_THREADS=NODE_THREADS): the framework's ceiling (GET only)
#   etcd     3 members on loopback (Debian's etcd-server, 3.4; default fsync), its v3 JSON gateway
#            (bench --api etcd): PUT is /v3/kv/put, GET a linearizable /v3/kv/range; both go to the
#            leader (found again before each measurement)
#   ringkv   a controller and 4 workers as separate JVMs (default configuration: RF 3, W 2, R 2,
#            DURABILITY=fsync), every request to worker1, which routes it
#
# Every system is started once and stays up for the whole sitting; etcd and ringkv are preloaded
# with KEYS keys of 100 B (so that every GET finds its key), ringkv gets JIT seconds of 50/50 load to
# compile its request path, the others WARM_FIRST seconds. Then ROUNDS rounds in which the systems
# take turns (nginx, Pekko, etcd, ringkv; then the next round), so that a burst of noise from the
# shared machine hits all of them alike: PUT 100 B and GET closed loop on uniform keys (nginx and
# Pekko: GET only). Each measurement is WARM seconds of un-measured load, then DUR measured seconds
# (a run of its own), with the CPU time (utime + stime) of that system's server processes read
# right before and right after the measured run: nginx's worker, the Pekko JVM, the 3 etcd
# processes, the 5 ringkv JVMs. Last, for etcd and ringkv, PUT and GET open loop at half of the
# mean closed-loop peak: latency percentiles counted from when each request was due (coordinated
# omission corrected).
#
# Prints a markdown block (ops/s, p50/p99/p99.9, CPU µs per request, errors for each system x op x
# round; the open-loop rows; the ratios and the issue's targets met or not, on the means over the
# rounds) and writes it into bench/README.md between the "compare" markers unless --no-readme. The
# rows are in $WORK/compare.jsonl (the path is logged at the end), the servers' logs in $WORK.
#
# Usage: bench/compare.sh [--no-readme]     DUR (10) measured seconds, WARM (5) seconds of warm-up
#        before each, JIT (60) seconds of warm-up for ringkv after its preload, WARM_FIRST (15) for the
#        others, C (32) connections, ROUNDS (2), KEYS (100000); ETCD_CLIENT_PORTS ("2379 12379 22379")
#        and ETCD_PEER_PORTS ("2380 12380 22380"): the members' ports, below the ephemeral range that
#        the workers' link ports come from; ETCD_EXTRA (""): more flags for every member; PEKKO_PORT
#        (CEILING_PORT + 1); NODE_THREADS etc. as in lib.sh. Needs target/ringkv.jar; installs
#        nginx-light and etcd-server with apt-get when nginx or etcd are missing. About 10 minutes.
#        BEFORE_JAR (unset): an older build of ringkv.jar, run as one more system (ports 9000..) taking
#        its turn in every round, and a before -> after table (BEFORE_LABEL names it; the jar's name by default)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "" | --no-readme) ;;
  *) echo "usage: bench/compare.sh [--no-readme]" >&2; exit 2 ;;
esac
source bench/lib.sh
DUR=${DUR:-10}
WARM=${WARM:-5}
JIT=${JIT:-60}
WARM_FIRST=${WARM_FIRST:-15}
C=${C:-32}
ROUNDS=${ROUNDS:-2}
KEYS=${KEYS:-100000}
PEKKO_PORT=${PEKKO_PORT:-$((CEILING_PORT + 1))}
read -r -a MEMBER_CLIENT_PORTS <<<"${ETCD_CLIENT_PORTS:-2379 12379 22379}"
read -r -a MEMBER_PEER_PORTS <<<"${ETCD_PEER_PORTS:-2380 12380 22380}"
EXTRA_ETCD_FLAGS=${ETCD_EXTRA:-}
[ "${#MEMBER_CLIENT_PORTS[@]}" -eq 3 ] && [ "${#MEMBER_PEER_PORTS[@]}" -eq 3 ] \
  || { log "ETCD_CLIENT_PORTS and ETCD_PEER_PORTS need 3 ports each"; exit 2; }
HZ=$(getconf CLK_TCK)
RESULTS=$WORK/compare.jsonl
: >"$RESULTS"
declare -A URL=() PROCS=()   # per system: where the load goes (etcd: found per measurement), its server processes

compare_cleanup() { # lib.sh's cleanup, then etcd's data (its WAL preallocates 64 MiB per member)
  cleanup || true
  local i p
  for i in 1 2 3; do   # killed (-9) by cleanup: wait until they are gone before removing their files
    p=${PIDS[etcd$i]:-}
    [ -n "$p" ] || continue
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$WORK/etcd" || true
}
trap compare_cleanup EXIT

ticks_of() { # pid... -> the CPU time (user + system, clock ticks) these processes have used so far
  local sum=0 p t
  for p in "$@"; do
    t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    sum=$((sum + t))
  done
  echo "$sum"
}

check_alive() { # system
  local p
  for p in ${PROCS[$1]}; do
    kill -0 "$p" 2>/dev/null || { log "FAILED: $1's process $p is gone (logs in $WORK)"; exit 1; }
  done
}

etcd_leader() { # -> the client URL of the member that is the leader now (fails when none is)
  local port out
  for port in "${MEMBER_CLIENT_PORTS[@]}"; do
    out=$(curl -sf -m 2 -X POST "http://127.0.0.1:$port/v3/maintenance/status" -d '{}') || continue
    # the gateway writes uint64 as JSON strings ("member_id":"1234..."): compare them as strings
    if python3 -c '
import json, sys
j = json.loads(sys.argv[1])
h = j.get("header", {})
me, leader = h.get("member_id", h.get("memberId")), j.get("leader")
sys.exit(0 if me is not None and leader is not None and str(me) == str(leader) and str(leader) != "0" else 1)' "$out"; then
      echo "http://127.0.0.1:$port"
      return 0
    fi
  done
  return 1
}
etcd_has_leader() { etcd_leader >/dev/null; }

etcd_member_up() { # client-port pid: answers its status; a member that exited fails the run at once
  kill -0 "$2" 2>/dev/null || { log "FAILED: the etcd member on $1 exited (logs in $WORK)"; exit 1; }
  curl -sf -o /dev/null -m 2 -X POST "http://127.0.0.1:$1/v3/maintenance/status" -d '{}'
}

start_etcd() { # 3 members on loopback, default fsync; their pids into PIDS (lib.sh's cleanup kills them)
  if ! command -v etcd >/dev/null; then
    log "installing etcd-server (etcd 3.4)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null
    service etcd stop >/dev/null 2>&1 || true   # the package starts one on the default ports
  fi
  local i cluster="" port
  for i in 1 2 3; do cluster="$cluster,etcd$i=http://127.0.0.1:${MEMBER_PEER_PORTS[i - 1]}"; done
  cluster=${cluster#,}
  for port in "${MEMBER_CLIENT_PORTS[@]}" "${MEMBER_PEER_PORTS[@]}"; do
    if curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/"; then
      log "FAILED: something already listens on port $port (an etcd service?): set ETCD_CLIENT_PORTS / ETCD_PEER_PORTS"
      exit 1
    fi
  done
  mkdir -p "$WORK/etcd"
  log "starting etcd: 3 members (client ports ${MEMBER_CLIENT_PORTS[*]}, peer ports ${MEMBER_PEER_PORTS[*]}; logs: $WORK/etcd*.log)"
  for i in 1 2 3; do
    # etcd reads ETCD_* variables as flags and refuses one that a flag also sets: none of ours reach it
    # shellcheck disable=SC2086  # EXTRA_ETCD_FLAGS: several flags
    (
      for v in $(compgen -e | grep '^ETCD_' || true); do unset "$v"; done
      exec etcd --name "etcd$i" --data-dir "$WORK/etcd/etcd$i" \
        --listen-client-urls "http://127.0.0.1:${MEMBER_CLIENT_PORTS[i - 1]}" \
        --advertise-client-urls "http://127.0.0.1:${MEMBER_CLIENT_PORTS[i - 1]}" \
        --listen-peer-urls "http://127.0.0.1:${MEMBER_PEER_PORTS[i - 1]}" \
        --initial-advertise-peer-urls "http://127.0.0.1:${MEMBER_PEER_PORTS[i - 1]}" \
        --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "ringkv-compare-$$" \
        $EXTRA_ETCD_FLAGS
    ) >>"$WORK/etcd$i.log" 2>&1 &
    PIDS[etcd$i]=$!
  done
  PROCS[etcd]="${PIDS[etcd1]} ${PIDS[etcd2]} ${PIDS[etcd3]}"
  for i in 1 2 3; do   # a member serves clients once the cluster has a quorum
    wait_for "etcd member on ${MEMBER_CLIENT_PORTS[i - 1]}" 60 etcd_member_up "${MEMBER_CLIENT_PORTS[i - 1]}" "${PIDS[etcd$i]}"
  done
  wait_for "an etcd leader" 30 etcd_has_leader
  log "etcd up, leader $(etcd_leader)"
}

bench_opts() { # system op -> OPTS: the load generator's options for it
  OPTS=()
  if [ "$1" = etcd ]; then OPTS+=(--api etcd); fi
  case $2 in
    PUT) OPTS+=(--put 100 --keys "$KEYS" --value-size 100) ;;
    GET) OPTS+=(--put 0 --keys "$KEYS") ;;
    *) log "unknown op $2"; exit 1 ;;
  esac
}

measure() { # system op round [bench options...]  -> one JSON line into $RESULTS (round 0: open loop)
  local sys=$1 op=$2 round=$3 target before after line what; shift 3
  bench_opts "$sys" "$op"
  check_alive "$sys"
  if [ "$sys" = etcd ]; then
    wait_for "an etcd leader" 30 etcd_has_leader
    target=$(etcd_leader) || { log "FAILED: no etcd leader"; exit 1; }
  else
    target=${URL[$sys]}
  fi
  what="$sys $op, round $round"
  if [ "$round" = 0 ]; then what="$sys $op, open loop ($*)"; fi
  log "$what: $WARM s warm-up, $DUR s measured ($target)"
  if [ "$WARM" != 0 ]; then
    bench --label warm-up --targets "$target" -c "$C" -d "$WARM" --warmup 0 "${OPTS[@]}" "$@" >/dev/null
  fi
  before=$(ticks_of ${PROCS[$sys]})
  line=$(bench --label "$sys $op" --targets "$target" -c "$C" -d "$DUR" --warmup 0 "${OPTS[@]}" "$@")
  after=$(ticks_of ${PROCS[$sys]})
  case $line in
    "{"*"}") ;;
    *) log "FAILED: the load generator gave no JSON line for $sys $op: $line"; exit 1 ;;
  esac
  line="${line%\}},\"system\":\"$sys\",\"op\":\"$op\",\"round\":$round,\"target\":\"$target\",\"cpu_ticks\":$((after - before)),\"ticks_per_sec\":$HZ}"
  echo "$line" >>"$RESULTS"
  echo "$line" >&2
}

half_peak() { # system op -> half the mean over the rounds of its closed-loop ops/s (at least 1)
  python3 - "$RESULTS" "$1" "$2" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
ops = [r["ops_per_sec"] for r in rows if r["system"] == sys.argv[2] and r["op"] == sys.argv[3] and r["loop"] == "closed"]
print(max(1, int(sum(ops) / len(ops) / 2)) if ops else 1)
PY
}

preload() { # system target [bench options...]
  local sys=$1 target=$2 line; shift 2
  log "$sys: preloading $KEYS keys of 100 B"
  line=$(bench --targets "$target" --load --keys "$KEYS" --value-size 100 -c "$C" "$@")
  log "$sys: preloaded, $(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print("{:,.0f} writes/s, {} errors {}".format(j["ops_per_sec"], j["errors"], j["errors_by_status"] or ""))' "$line")"
}

head -1 /proc/stat >"$WORK/cpu.start"   # for the share of CPU time the hypervisor took (steal)

# --- start everything once; it all stays up for the sitting
start_etcd
VERSION_OF_ETCD=$(etcd --version 2>/dev/null | awk '/^etcd Version/ { print $3 }' || true)
start_ceiling
URL[nginx]=http://127.0.0.1:$CEILING_PORT
PROCS[nginx]=$(pgrep -P "$(cat "$WORK/nginx.pid")" | tr '\n' ' ') || true   # the worker process, not the master
[ -n "${PROCS[nginx]// /}" ] || { log "FAILED: no nginx worker process"; exit 1; }

log "starting Pekko HTTP answering a fixed 200 on $PEKKO_PORT"
DISPATCHER_THREADS=$NODE_THREADS java $JAVA_OPTS -cp "$JAR" io.ringkv.bench.FrameworkCeiling "$PEKKO_PORT" >"$WORK/pekko.log" 2>&1 &
PIDS[pekko]=$!
PROCS[pekko]=${PIDS[pekko]}
URL[pekko]=http://127.0.0.1:$PEKKO_PORT
wait_for "Pekko HTTP on $PEKKO_PORT" 90 curl -sf -o /dev/null "http://127.0.0.1:$PEKKO_PORT/"

start_cluster
URL[ringkv]=$(worker_url 1)
PROCS[ringkv]=${PIDS[controller]}
for i in $(seq 1 "${WORKERS:-4}"); do PROCS[ringkv]+=" ${PIDS[worker$i]}"; done
SYSTEMS=(ringkv)
if [ -n "${BEFORE_JAR:-}" ]; then   # an older build of ringkv as one more system, on ports 9000..
  for k in controller $(seq -f 'worker%g' 1 "${WORKERS:-4}"); do PIDS[ringkv-$k]=${PIDS[$k]}; unset "PIDS[$k]"; done
  JAR=$BEFORE_JAR BASE_PORT=9000 CTRL=http://127.0.0.1:9000 start_cluster DATA_DIR="$WORK/data-before"
  URL[before]=http://127.0.0.1:9101
  PROCS[before]=${PIDS[controller]}
  for i in $(seq 1 "${WORKERS:-4}"); do PROCS[before]+=" ${PIDS[worker$i]}"; done
  SYSTEMS=(before ringkv)
  export BEFORE_LABEL=${BEFORE_LABEL:-$(basename "$BEFORE_JAR")}
fi

# --- preload and warm up
log "nginx: $WARM_FIRST s of GET"
bench --targets "${URL[nginx]}" --put 0 -c "$C" -d "$WARM_FIRST" --warmup 0 >/dev/null
log "Pekko HTTP: $WARM_FIRST s of GET"
bench --targets "${URL[pekko]}" --put 0 -c "$C" -d "$WARM_FIRST" --warmup 0 >/dev/null
LEADER=$(etcd_leader)
preload etcd "$LEADER" --api etcd
wait_for "an etcd leader" 30 etcd_has_leader
LEADER=$(etcd_leader)
log "etcd: $WARM_FIRST s of 50/50"
bench --api etcd --targets "$LEADER" --put 50 --keys "$KEYS" --value-size 100 -c "$C" -d "$WARM_FIRST" --warmup 0 >/dev/null
for sys in "${SYSTEMS[@]}"; do
  preload "$sys" "${URL[$sys]}"
  log "$sys: JIT warm-up, $JIT s of 50/50"
  bench --targets "${URL[$sys]}" --put 50 --keys "$KEYS" --value-size 100 -c "$C" -d "$JIT" --warmup 0 >/dev/null
done

# --- the rounds: the systems take turns
for round in $(seq 1 "$ROUNDS"); do
  measure nginx GET "$round"
  measure pekko GET "$round"
  measure etcd PUT "$round"
  measure etcd GET "$round"
  for sys in "${SYSTEMS[@]}"; do
    measure "$sys" PUT "$round"
    measure "$sys" GET "$round"
  done
done

# --- open loop at half of each one's peak
for op in PUT GET; do
  for sys in etcd "${SYSTEMS[@]}"; do
    rate=$(half_peak "$sys" "$op")
    measure "$sys" "$op" 0 --rate "$rate"
  done
done

head -1 /proc/stat >"$WORK/cpu.end"
python3 bench/compare_table.py "$RESULTS" "$C" "$DUR" "$WARM" "$KEYS" "${VERSION_OF_ETCD:-?}" "$WORK/cpu.start" "$WORK/cpu.end" ${1:+"$1"}
log "rows: $RESULTS; logs: $WORK"
