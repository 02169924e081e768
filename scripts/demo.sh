#!/usr/bin/env bash
# demo.sh: the seed's DEMO (key mapping, replication, failure + rebalancing, rejoin) as one
# checked script, against any controller and worker URLs: port-forwarded Kubernetes services,
# docker-compose, `java -jar ringkv.jar local`, or separate processes.
#
# Every step prints the exact command it runs, its output, and an `OK:` or `FAIL:` line; the
# script exits 1 at the first expectation that does not hold and 0 after
#   DEMO PASSED: down after X s, copies restored after Y s
#
# Needs bash (3.2 or later), curl, sed, grep, awk. Run `scripts/demo.sh --help` for the options.
set -u

usage() {
  cat <<'EOF'
Usage: scripts/demo.sh [options]

  --controller URL       controller URL reachable from here (default http://localhost:8000)
  --workers LIST         node id -> URL reachable from here, comma separated (default
                         worker1=http://localhost:8101,worker2=http://localhost:8201,
                         worker3=http://localhost:8301,worker4=http://localhost:8401)
  --key KEY              key to write (default user123)
  --value VALUE          value to write (default hello)
  --stop CMD             command that stops a worker (default: curl -fsS -X POST {url}/admin/stop,
                         which only the `local` cluster serves)
  --start CMD            command that starts it again (default: none, the rejoin step is skipped)
  --up-timeout S         seconds to wait for workers to be UP (default 60)
  --down-timeout S       seconds to wait for the stopped worker to be DOWN (default 15)
  --copy-timeout S       seconds to wait for copies to appear or go away (default 15)
  --no-failure           stop after the replication steps (nothing is stopped)
  -h, --help             this help

In CMD, {node} is the node id, {url} its URL from --workers, {host} and {port} that URL's host and
port. CMD runs with bash -c; a process it starts in the background must redirect its output.

  local:       --stop 'curl -fsS -X POST {url}/admin/stop'   (a leave; ?mode=crash: a kill -9)
               --start 'NODE_ID={node} PORT={port} ADVERTISE_HOST=127.0.0.1 nohup java -jar target/ringkv.jar worker >/tmp/{node}.log 2>&1 &'
  compose:     --stop 'docker-compose stop {node}' --start 'docker-compose start {node}'
  kubernetes:  --stop 'kubectl scale deployment {node} -n kv-system --replicas=0'
               --start 'kubectl scale deployment {node} -n kv-system --replicas=1 && kubectl rollout status deployment/{node} -n kv-system && (kubectl port-forward svc/{node} -n kv-system {port}:8001 >/dev/null 2>&1 &)'
               (a port-forward ends with the pod it forwards to, so --start opens it again)

Exit status: 0 when every step holds, 1 at the first that does not, 2 on a usage error.
EOF
}

CTRL=http://localhost:8000
WORKERS=worker1=http://localhost:8101,worker2=http://localhost:8201,worker3=http://localhost:8301,worker4=http://localhost:8401
KEY=user123
VALUE=hello
STOP_CMD='curl -fsS -X POST {url}/admin/stop'
START_CMD=
UP_TIMEOUT=60
DOWN_TIMEOUT=15
COPY_TIMEOUT=15
FAILURE=1

die_usage() { echo "demo.sh: $1 (see --help)" >&2; exit 2; }
while [ $# -gt 0 ]; do
  opt=$1; val=
  case $opt in
    --*=*) val=${opt#*=}; opt=${opt%%=*}; set -- "$opt" "$val" "${@:2}" ;;
  esac
  case $opt in
    -h|--help) usage; exit 0 ;;
    --no-failure) FAILURE=0; shift; continue ;;
    --controller|--workers|--key|--value|--stop|--start|--up-timeout|--down-timeout|--copy-timeout)
      [ $# -ge 2 ] || die_usage "$opt needs a value"; val=$2; shift 2 ;;
    *) die_usage "unknown option $opt" ;;
  esac
  case $opt in
    --controller) CTRL=$val ;;
    --workers) WORKERS=$val ;;
    --key) KEY=$val ;;
    --value) VALUE=$val ;;
    --stop) STOP_CMD=$val ;;
    --start) START_CMD=$val ;;
    --up-timeout) UP_TIMEOUT=$val ;;
    --down-timeout) DOWN_TIMEOUT=$val ;;
    --copy-timeout) COPY_TIMEOUT=$val ;;
  esac
done
for t in "$UP_TIMEOUT" "$DOWN_TIMEOUT" "$COPY_TIMEOUT"; do
  case $t in ''|*[!0-9.]*) die_usage "a timeout must be a number of seconds, got '$t'" ;; esac
done
[ -n "$KEY" ] || die_usage "--key must not be empty"
case $KEY$VALUE in *[[:cntrl:]]*) die_usage "--key and --value must not contain control characters" ;; esac
command -v curl >/dev/null 2>&1 || { echo "demo.sh: needs curl" >&2; exit 2; }
CTRL=${CTRL%/}

# --workers: parallel arrays (bash 3.2 has no associative arrays)
W_IDS=(); W_URLS=()
IFS=, read -r -a _pairs <<<"$WORKERS"
for p in "${_pairs[@]}"; do
  case $p in *=*) ;; *) die_usage "--workers entry '$p' is not id=url" ;; esac
  id=${p%%=*}; url=${p#*=}; url=${url%/}
  [ -n "$id" ] && [ -n "$url" ] || die_usage "--workers entry '$p' is not id=url"
  W_IDS+=("$id"); W_URLS+=("$url")
done
[ ${#W_IDS[@]} -gt 0 ] || die_usage "--workers is empty"
url_of() { # id -> its URL from --workers, or "" when it has none
  local i
  for i in "${!W_IDS[@]}"; do [ "${W_IDS[$i]}" = "$1" ] && { printf '%s' "${W_URLS[$i]}"; return 0; }; done
  return 1
}

# ---------------------------------------------------------------------------------------------
# output, timing, polling

STEP="(start)"
step() { STEP=${1%%:*}; echo; echo "== Step $1"; }
ok() { echo "OK: $*"; }
fail() {
  echo "FAIL: $*"
  echo
  echo "DEMO FAILED at step $STEP: $*"
  exit 1
}
note() { echo "NOTE: $*"; }

if date +%N 2>/dev/null | grep -q '^[0-9][0-9]*$'; then
  now() { date +%s.%N; }
elif command -v perl >/dev/null 2>&1; then
  now() { perl -MTime::HiRes=time -e 'printf "%.3f\n", time'; }
else
  now() { date +%s; }
fi
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
past() { awk -v a="$1" -v b="$(now)" -v d="$2" 'BEGIN { exit !(b - a > d) }'; } # start deadline

# wait_until SECONDS FUNCTION [ARGS...]: calls FUNCTION until it succeeds (0) or SECONDS pass (1);
# WAITED is the elapsed time either way
WAITED=0
wait_until() {
  local deadline=$1 t0; shift
  t0=$(now)
  while :; do
    if "$@"; then WAITED=$(since "$t0"); return 0; fi
    if past "$t0" "$deadline"; then WAITED=$(since "$t0"); return 1; fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# HTTP and JSON (the nodes answer compact JSON: sed and grep are enough)

BODY=; CODE=; CURL_ERR=
TMP=$(mktemp "${TMPDIR:-/tmp}/ringkv-demo.XXXXXX") || exit 2
trap 'rm -f "$TMP" "$TMP.err" "$TMP.rc"' EXIT

# http METHOD URL [JSON]: sets BODY, CODE ("000" when nothing answered) and CURL_ERR
http() {
  local args=(-sS -m 10 -o "$TMP" -w '%{http_code}' -X "$1" "$2")
  [ $# -ge 3 ] && args+=(-H "Content-Type: application/json" -d "$3")
  CODE=$(curl "${args[@]}" 2>"$TMP.err"); CODE=${CODE:-000}
  BODY=$(tr -d '\r\n' <"$TMP" 2>/dev/null); CURL_ERR=$(head -c 300 "$TMP.err" 2>/dev/null)
}
show() { # print the last answer the way curl would, plus its status
  if [ "$CODE" = 000 ]; then echo "(no answer: ${CURL_ERR:-connection failed})"; else echo "$BODY"; echo "[HTTP $CODE]"; fi
}
get() { echo "\$ curl -s \"$1\""; http GET "$1"; show; }   # print, run, print

json_str() { printf '%s' "$BODY" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
json_num() { printf '%s' "$BODY" | sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"; }
re_escape() { printf '%s' "$1" | sed 's/[][\.*^$/]/\\&/g'; }
node_status() { # id, from a /nodes BODY: UP, DOWN or "" when not listed
  printf '%s' "$BODY" | grep -o "\"$(re_escape "$1")\":{[^}]*}" | grep -o '"status":"[A-Z]*"' | head -1 | cut -d'"' -f4
}
mapping_ids() { # the node ids of a /mapping BODY, in order, one a line
  printf '%s' "$BODY" | sed -n 's/.*"mapping":\[\([^]]*\)\].*/\1/p' | grep -o '"node_id":"[^"]*"' | cut -d'"' -f4
}
json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
urlencode() {
  local LC_ALL=C s=$1 out= c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [a-zA-Z0-9.~_-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}
has_value() { # BODY is a found answer carrying VALUE
  case $BODY in *'"found":true'*) ;; *) return 1 ;; esac
  case $BODY in *"\"value\":\"$JVALUE\","* | *"\"value\":\"$JVALUE\"}"*) return 0 ;; esac
  return 1
}
in_list() { # word list...
  local w=$1; shift
  for x in "$@"; do [ "$x" = "$w" ] && return 0; done
  return 1
}
expand_template() { # template id: CMD = the template with {node} {url} {host} {port} substituted
  local id=$2 url host port
  url=$(url_of "$id")
  host=${url#*://}; host=${host%%/*}; port=${host##*:}
  case $host in *:*) host=${host%:*} ;; *) case $url in https:*) port=443 ;; *) port=80 ;; esac ;; esac
  CMD=$(subst "$1" '{node}' "$id"); CMD=$(subst "$CMD" '{url}' "$url")
  CMD=$(subst "$CMD" '{host}' "$host"); CMD=$(subst "$CMD" '{port}' "$port")
}
subst() { # text placeholder replacement (literal)
  local s=$1 k=$2 v=$3 out=
  while :; do
    case $s in *"$k"*) ;; *) break ;; esac
    out=$out${s%%"$k"*}$v; s=${s#*"$k"}
  done
  printf '%s' "$out$s"
}

EKEY=$(urlencode "$KEY")
JKEY=$(json_escape "$KEY")
JVALUE=$(json_escape "$VALUE")
PUT_BODY="{\"key\":\"$JKEY\",\"value\":\"$JVALUE\"}"
NODES_URL="$CTRL/nodes"
MAPPING_URL="$CTRL/mapping?key=$EKEY"

echo "ringkv demo: controller $CTRL, key '$KEY', value '$VALUE'"
for i in "${!W_IDS[@]}"; do echo "   ${W_IDS[$i]} -> ${W_URLS[$i]}"; done

# ---------------------------------------------------------------------------------------------
# checks shared by several steps

# the controller shows every --workers node UP
all_up() {
  http GET "$NODES_URL"
  [ "$CODE" = 200 ] || return 1
  local id
  for id in "${W_IDS[@]}"; do [ "$(node_status "$id")" = UP ] || return 1; done
}
is_up() { http GET "$NODES_URL"; [ "$CODE" = 200 ] && [ "$(node_status "$1")" = UP ]; }
is_down() { # DOWN, or no longer listed at all
  http GET "$NODES_URL"
  [ "$CODE" = 200 ] || return 1
  local s; s=$(node_status "$1")
  [ "$s" = DOWN ] || [ -z "$s" ]
}
up_count() { printf '%s' "$BODY" | grep -o '"status":"UP"' | wc -l | tr -d ' '; }

# read the mapping and check it: $1 = expected size; sets MAPPING (ids, space separated)
check_mapping() {
  get "$MAPPING_URL"
  [ "$CODE" = 200 ] || fail "GET /mapping answered HTTP $CODE, expected 200"
  MAPPING=$(mapping_ids | tr '\n' ' '); MAPPING=${MAPPING% }
  local n dup
  n=$(mapping_ids | grep -c .)
  dup=$(mapping_ids | sort | uniq -d | tr '\n' ' ')
  [ -z "$dup" ] || fail "the mapping names a node twice: $dup"
  if [ -n "$1" ]; then
    [ "$n" -eq "$1" ] || fail "the mapping has $n nodes ($MAPPING), expected $1 (replication factor $RF, $UP_N workers UP)"
  else
    [ "$n" -ge 1 ] || fail "the mapping is empty"
  fi
}
expected_size() { # min(replication factor, UP workers), or "" when the replication factor is unknown
  [ -n "$RF" ] || { echo ""; return; }
  if [ "$UP_N" -lt "$RF" ]; then echo "$UP_N"; else echo "$RF"; fi
}

# every mapped node with a URL holds the key in its own map; every other --workers node does not
# (the nodes in $SKIP are left out: a stopped one)
SKIP=
local_state_ok() {
  local i id url
  for i in "${!W_IDS[@]}"; do
    id=${W_IDS[$i]}; url=${W_URLS[$i]}
    in_list "$id" $SKIP && continue
    http GET "$url/kv?key=$EKEY&local=true"
    if in_list "$id" $MAPPING; then has_value || return 1
    else [ "$CODE" = 404 ] || return 1
    fi
  done
}
# print each worker's local answer and say which expectation fails
show_local_state() {
  local i id url bad=
  for i in "${!W_IDS[@]}"; do
    id=${W_IDS[$i]}; url=${W_URLS[$i]}
    in_list "$id" $SKIP && continue
    get "$url/kv?key=$EKEY&local=true"
    if in_list "$id" $MAPPING; then
      if has_value; then echo "   $id is in the mapping and holds a copy"; else echo "   $id is in the mapping but holds NO copy"; bad="$bad $id(missing)"; fi
    else
      if [ "$CODE" = 404 ]; then echo "   $id is not in the mapping and holds no copy"; else echo "   $id is not in the mapping but answers HTTP $CODE (404 expected: it should hold no copy)"; bad="$bad $id(extra)"; fi
    fi
  done
  for id in $MAPPING; do url_of "$id" >/dev/null || note "$id is in the mapping but has no URL in --workers: not checked"; done
  LOCAL_BAD=$bad
}
# a quorum GET from every worker (but $SKIP) returns the value
check_reads() {
  local i id
  for i in "${!W_IDS[@]}"; do
    id=${W_IDS[$i]}
    in_list "$id" $SKIP && continue
    get "${W_URLS[$i]}/kv?key=$EKEY"
    [ "$CODE" = 200 ] && has_value || fail "GET /kv from $id answered HTTP $CODE without the value '$VALUE'"
  done
}

# ---------------------------------------------------------------------------------------------
step "0: every worker is UP and answers at its URL"
echo "\$ curl -s $NODES_URL    (until every worker is UP, up to ${UP_TIMEOUT}s)"
if ! wait_until "$UP_TIMEOUT" all_up; then
  show
  [ "$CODE" = 200 ] || fail "the controller at $CTRL did not answer /nodes (HTTP $CODE)"
  down=
  for id in "${W_IDS[@]}"; do
    st=$(node_status "$id")
    [ "$st" = UP ] || down="$down $id (${st:-not listed})"
  done
  fail "not UP after ${UP_TIMEOUT}s:$down"
fi
show
UP_N=$(up_count)
ok "${W_IDS[*]} UP (the controller shows $UP_N workers UP)"
for i in "${!W_IDS[@]}"; do
  get "${W_URLS[$i]}/health"
  [ "$CODE" = 200 ] || fail "${W_IDS[$i]}'s URL ${W_URLS[$i]} answered /health with HTTP $CODE"
  got=$(json_str node_id)
  [ "$got" = "${W_IDS[$i]}" ] || fail "${W_URLS[$i]} is node '$got', not ${W_IDS[$i]}: fix --workers"
done
ok "every URL in --workers reaches the node it is listed for"
get "$CTRL/ring"
RF=$(json_num replication_factor)
[ -n "$RF" ] && ok "replication factor $RF" || note "no replication_factor in /ring: the mapping only has to be non-empty"

# ---------------------------------------------------------------------------------------------
step "1: the mapping of '$KEY' (consistent hashing: primary first)"
EXPECT=$(expected_size)
check_mapping "$EXPECT"
MAPPING0=$MAPPING
PRIMARY=${MAPPING%% *}
ok "mapping $MAPPING, primary $PRIMARY"

# ---------------------------------------------------------------------------------------------
step "2: write '$KEY' to the primary $PRIMARY"
PURL=$(url_of "$PRIMARY") || fail "the primary $PRIMARY has no URL in --workers"
get "$PURL/status" >/dev/null
WQ=$(json_num write_quorum); WQ=${WQ:-2}
[ -n "$RF" ] && [ "$RF" -lt "$WQ" ] && WQ=$RF
echo "\$ curl -X PUT \"$PURL/kv\" -H \"Content-Type: application/json\" -d '$(printf '%s' "$PUT_BODY" | sed "s/'/'\\\\''/g")'"
http PUT "$PURL/kv" "$PUT_BODY"; show
[ "$CODE" = 200 ] || fail "PUT answered HTTP $CODE, expected 200"
case $BODY in *'"status":"ok"'*) ;; *) fail "PUT did not answer \"status\":\"ok\"" ;; esac
ACKED=$(json_num replicas_acked)
[ -n "$ACKED" ] && [ "$ACKED" -ge "$WQ" ] || fail "replicas_acked is '${ACKED}', expected at least $WQ (the write quorum)"
ok "status ok, $ACKED replicas acked (write quorum $WQ)"

# ---------------------------------------------------------------------------------------------
step "3: the replicas (a GET from any worker, then each worker's own map with &local=true)"
check_reads
ok "every worker reads '$VALUE'"
if wait_until "$COPY_TIMEOUT" local_state_ok; then COPY0=$WAITED; else COPY0=; fi
show_local_state
[ -n "$COPY0" ] || fail "after ${COPY_TIMEOUT}s the copies are not exactly on the mapped nodes:$LOCAL_BAD"
ok "the mapped nodes ($MAPPING) hold a copy, the others none (all copies there after ${COPY0}s)"

if [ "$FAILURE" = 0 ]; then
  echo
  echo "DEMO PASSED (replication only, --no-failure): mapping $MAPPING0, $ACKED replicas acked"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
step "4: failure: stop the primary $PRIMARY, the controller marks it DOWN, the copies move"
# the --stop command runs in the background while the controller is polled, so that a command
# that waits for the node to exit (docker-compose stop) does not count in the time to DOWN
expand_template "$STOP_CMD" "$PRIMARY"
echo "\$ $CMD    (in the background; its output is marked '> ')"
echo "\$ curl -s $NODES_URL    (until $PRIMARY is DOWN)"
rm -f "$TMP.rc"
T_STOP=$(now)
( bash -c "$CMD" 2>&1; echo $? >"$TMP.rc" ) | awk '{ print "> " $0; fflush() }' &
STOP_PID=$!; STOP_RC=
stop_ended() { # the --stop command has ended; STOP_RC is its exit status
  [ -n "$STOP_RC" ] && return 0
  kill -0 "$STOP_PID" 2>/dev/null && return 1
  wait "$STOP_PID"
  STOP_RC=$(cat "$TMP.rc" 2>/dev/null); STOP_RC=${STOP_RC:-1}
  return 0
}
down_or_stop_failed() { { stop_ended && [ "$STOP_RC" != 0 ]; } || is_down "$1"; }
wait_until "$DOWN_TIMEOUT" down_or_stop_failed "$PRIMARY"; waited=$?
DOWN_S=$(since "$T_STOP"); T_DOWN=$(now)
[ -n "$STOP_RC" ] && [ "$STOP_RC" != 0 ] && fail "the --stop command failed (exit $STOP_RC)"
if [ $waited != 0 ]; then
  show
  fail "$PRIMARY is still '$(node_status "$PRIMARY")' ${DOWN_TIMEOUT}s after --stop: did the command stop it?"
fi
show
if [ -n "$(node_status "$PRIMARY")" ]; then ok "$PRIMARY is DOWN after ${DOWN_S}s"; else ok "$PRIMARY is no longer listed (gone) after ${DOWN_S}s"; fi
UP_N=$(up_count)
EXPECT=$(expected_size)
check_mapping "$EXPECT"
in_list "$PRIMARY" $MAPPING && fail "the mapping still contains $PRIMARY"
ok "new mapping $MAPPING: $PRIMARY is gone"
SKIP=$PRIMARY
if wait_until "$COPY_TIMEOUT" local_state_ok; then COPIES_S=$(since "$T_DOWN"); else COPIES_S=; fi
show_local_state
[ -n "$COPIES_S" ] || fail "${COPY_TIMEOUT}s after DOWN the copies are not exactly on the new mapping:$LOCAL_BAD"
ok "every node of the new mapping holds a copy ${COPIES_S}s after DOWN"
check_reads
ok "every surviving worker reads '$VALUE'"
if ! wait_until "$DOWN_TIMEOUT" stop_ended; then
  fail "the --stop command (pid $STOP_PID) is still running ${DOWN_TIMEOUT}s after the checks"
fi
[ "$STOP_RC" = 0 ] || fail "the --stop command failed (exit $STOP_RC)"

# ---------------------------------------------------------------------------------------------
REJOIN=
if [ -z "$START_CMD" ]; then
  echo
  echo "== Step 5: rejoin: skipped (no --start). $PRIMARY stays stopped; bring it back with its own NODE_ID, e.g."
  expand_template "NODE_ID={node} PORT={port} ADVERTISE_HOST=127.0.0.1 CONTROLLER_ADDR=$CTRL java -jar target/ringkv.jar worker" "$PRIMARY"
  echo "   $CMD"
else
  step "5: rejoin: start $PRIMARY again, it takes its share back"
  T_START=$(now)
  expand_template "$START_CMD" "$PRIMARY"
  echo "\$ $CMD"
  bash -c "$CMD" || fail "the --start command failed (exit $?)"
  echo "\$ curl -s $NODES_URL    (until $PRIMARY is UP)"
  if ! wait_until "$UP_TIMEOUT" is_up "$PRIMARY"; then
    show
    fail "$PRIMARY is not UP ${UP_TIMEOUT}s after --start"
  fi
  UP_S=$(since "$T_START")
  show
  ok "$PRIMARY is UP after ${UP_S}s"
  UP_N=$(up_count)
  reaches() { http GET "$(url_of "$1")/health"; [ "$CODE" = 200 ] && [ "$(json_str node_id)" = "$1" ]; }
  echo "\$ curl -s \"$(url_of "$PRIMARY")/health\"    (until it answers)"
  wait_until "$UP_TIMEOUT" reaches "$PRIMARY"; reached=$?
  show
  [ $reached = 0 ] || fail "$PRIMARY is UP but its URL $(url_of "$PRIMARY") does not reach it (HTTP $CODE): was a port-forward opened again?"
  check_mapping "$(expected_size)"
  [ "$MAPPING" = "$MAPPING0" ] || fail "the mapping is $MAPPING, expected the one before the failure: $MAPPING0"
  ok "the mapping is the one before the failure again: $MAPPING"
  SKIP=
  if wait_until "$COPY_TIMEOUT" local_state_ok; then BACK_S=$(since "$T_START"); else BACK_S=; fi
  show_local_state
  [ -n "$BACK_S" ] || fail "${COPY_TIMEOUT}s after UP the copies are not exactly on the mapping:$LOCAL_BAD"
  ok "$PRIMARY holds its copy again and the stand-in dropped its own, ${BACK_S}s after --start"
  check_reads
  ok "every worker reads '$VALUE'"
  REJOIN=", rejoined: UP after ${UP_S} s, exactly the mapped copies after ${BACK_S} s"
fi

echo
echo "DEMO PASSED: down after ${DOWN_S} s, copies restored after ${COPIES_S} s${REJOIN}"
