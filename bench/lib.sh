# bench/lib.sh: sourced by the bench scripts. A ringkv cluster as separate processes on this
# machine, the bare-HTTP ceiling (nginx answering a fixed 200), and the load generator.
#   JAR (target/ringkv.jar)  BENCH_JAR ($JAR)  JAVA_OPTS (-Xmx1g -XX:+UseParallelGC)  NODE_THREADS (1: each node's
#   DISPATCHER_THREADS; five JVMs share this machine's cores, and one thread each is measured to cost the
#   least CPU per request: PUT 1,595 -> 823 us, GET 790 -> 585 us, with 2 threads each -> 1)  BASE_PORT (8000: controller
#   8000, workers 8101 8201 8301 8401)  CEILING_PORT (8090)
JAR=${JAR:-target/ringkv.jar}
BENCH_JAR=${BENCH_JAR:-$JAR}   # the load generator's jar (e.g. the current one against an older cluster)
JAVA_OPTS=${JAVA_OPTS:--Xmx1g -XX:+UseParallelGC}
NODE_THREADS=${NODE_THREADS:-1}
BASE_PORT=${BASE_PORT:-8000}
CEILING_PORT=${CEILING_PORT:-8090}
CTRL=http://127.0.0.1:$BASE_PORT
WORK=$(mktemp -d -t ringkv-bench.XXXXXX)
declare -A PIDS=()

[ -f "$JAR" ] || { echo "no $JAR: run 'mvn -B package -DskipTests' first" >&2; exit 1; }
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
worker_port() { echo $((BASE_PORT + 100 * $1 + 1)); }
worker_url() { echo "http://127.0.0.1:$(worker_port "$1")"; }
all_workers() { local out="" i; for i in $(seq 1 "${WORKERS:-4}"); do out="$out,$(worker_url "$i")"; done; echo "${out#,}"; }

cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK/data"   # the workers' data (DATA_DIR): a run starts empty
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

stop_cluster() { # kill -9 of every node this script started, and their data: the next start_cluster begins empty
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  PIDS=()
  rm -rf "$WORK/data"
}

wait_for() { # what deadline-seconds command...
  local what=$1 deadline=$2 t0; t0=$(now); shift 2
  until "$@"; do
    awk -v a="$t0" -v b="$(now)" -v d="$deadline" 'BEGIN { exit !(b - a > d) }' && { log "FAILED: $what not within ${deadline}s (logs in $WORK)"; exit 1; }
    sleep 0.05
  done
}

up_count() { curl -s "$CTRL/nodes" | grep -o '"status":"UP"' | wc -l; }

start_worker() { # index [extra env assignments...]
  local i=$1; shift
  env NODE_ID="worker$i" PORT="$(worker_port "$i")" ADVERTISE_HOST=127.0.0.1 CONTROLLER_ADDR="$CTRL" DISPATCHER_THREADS="$NODE_THREADS" \
    DATA_DIR="$WORK/data" "$@" \
    java $JAVA_OPTS -jar "$JAR" worker >>"$WORK/worker$i.log" 2>&1 &
  PIDS[worker$i]=$!
}

start_cluster() { # [extra env assignments for every node...]   WORKERS (4) workers
  log "starting a controller and ${WORKERS:-4} workers as separate JVMs (logs: $WORK)"
  env PORT="$BASE_PORT" DISPATCHER_THREADS="$NODE_THREADS" "$@" java $JAVA_OPTS -jar "$JAR" controller >>"$WORK/controller.log" 2>&1 &
  PIDS[controller]=$!
  local i; for i in $(seq 1 "${WORKERS:-4}"); do start_worker "$i" "$@"; done
  wait_for "${WORKERS:-4} workers UP" 90 sh -c "[ \"\$(curl -s $CTRL/nodes | grep -o '\"status\":\"UP\"' | wc -l)\" -eq ${WORKERS:-4} ]"
}

start_ceiling() { # nginx, one worker process, a fixed 200 for every request: this machine's bare HTTP ceiling
  if ! command -v nginx >/dev/null; then
    log "installing nginx-light (the ceiling server)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null
    service nginx stop >/dev/null 2>&1 || true
  fi
  mkdir -p "$WORK/nginx/logs"
  cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx;
  server {
    listen 127.0.0.1:$CEILING_PORT;
    keepalive_requests 1000000;
    location / { return 200 '{"status":"ok"}'; }
  }
}
CONF
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
  wait_for "nginx on $CEILING_PORT" 10 curl -sf -o /dev/null "http://127.0.0.1:$CEILING_PORT/"
}

cluster_cpu_ticks() { # CPU time (user + system, clock ticks) the cluster's JVMs have used so far
  local sum=0 p t
  for p in "${PIDS[@]}"; do
    t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    sum=$((sum + t))
  done
  echo $sum
}

bench() { # bench options...  -> the JSON line on stdout, progress on stderr
  java -Xmx512m -XX:+UseParallelGC -jar "$BENCH_JAR" bench "$@" | tail -1
}

json_field() { # field json
  python3 -c 'import json,sys; print(json.loads(sys.argv[2])[sys.argv[1]])' "$1" "$2"
}
