#!/usr/bin/env bash
# Issue 14, measured: two Chat.Api replicas sharing every room through Redis, against one Chat.Api without Redis and
# against two SignalR hubs on SignalR's Redis backplane, side by side in one run. Everything but the generator on one
# core (the replicas and redis-server on SERVER_CORE, the generator on GENERATOR_CORE); clients alternate between the
# two replicas, so every room has members and senders on both. Loopback only; every run is bounded by `timeout`; every
# process this script starts is stopped at the end.
#
#   bash bench/scaleout.sh                          fanout, ramp and ramp_lossless, the three setups (about 15 minutes on
#                                                   2 cores, plus any wait for a quiet machine)
#   QUICK=1 bash bench/scaleout.sh                  smaller sizes
#   SETUPS="chat-2x" SCENARIOS=fanout bash bench/scaleout.sh
#   CHAT_DLL=/work/other/Chat.Api/bin/Release/net10.0/Chat.Api.dll bash bench/scaleout.sh   another build, not rebuilt
#   HISTORY=shared bash bench/scaleout.sh           both replicas on one SQLite file (default: a file each)
#   CHAT_ENV="Chat__X=1" SIGNALR_ENV="DOTNET_gcServer=0"   settings added to every Chat.Api / SignalR replica
#   QUIET_WAIT=0 bash bench/scaleout.sh             do not wait for a quiet machine before each run (default: up to 180 s)
#
# Setups: chat-single (one Chat.Api, no Redis), chat-2x (two Chat.Api with ConnectionStrings__cache), signalr-2x (two
# Baselines.SignalR with ConnectionStrings__cache: AddStackExchangeRedis). A redis-server (Debian's) runs on a free
# loopback port with a throwaway folder, no persistence; it is flushed, and its command counters reset, before each
# run. Redis's commands per message come two ways: the generator reads INFO commandstats at the start and end of each
# measured window (redis_commands_per_message), and this script reads it after the whole run, joins and leaves
# included (redis_* rows). Sizes and cores as in run.sh (CLIENTS, SENDERS, RATE, RAMP_*, SERVER_CORE, ...); the ramp
# starts at 5/s per sender (SignalR on Redis does not pass 10/s). ramp_lossless: the ramp with p99 <= LOSSLESS_P99_MS
# (5,000) instead of 250 ms, a second figure for setups whose tail latency fails every rate. Every setup first chats
# unmeasured for 15 s (fanout: WARMUP=15; ramp: SETTLE=15 at the first rate): two SignalR hubs on the backplane,
# freshly started on one core, stall for up to 1.5 s in their first ~10 s (a p99 of 0.3-1.5 s at any rate), then
# deliver at 15-20 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

SETUPS=${SETUPS:-"chat-single chat-2x signalr-2x"}
SCENARIOS=${SCENARIOS:-"fanout ramp ramp_lossless"}
SERVER_CORE=${SERVER_CORE:-0}
GENERATOR_CORE=${GENERATOR_CORE:-1}
BASE_PORT=${BASE_PORT:-5480}
REDIS_BASE_PORT=${REDIS_BASE_PORT:-6390}
HISTORY=${HISTORY:-own}
OUT=${OUT:-bench/results/scaleout-$(date -u +%Y%m%d-%H%M%S)}
BIN=bin/Release/net10.0

if [ "${QUICK:-0}" = 1 ]; then
  CLIENTS=${CLIENTS:-50} SENDERS=${SENDERS:-6} RATE=${RATE:-10} WARMUP=${WARMUP:-1} DURATION=${DURATION:-4} SETTLE=${SETTLE:-2}
  RAMP_START=${RAMP_START:-20} RAMP_FACTOR=${RAMP_FACTOR:-2} RAMP_STEPS=${RAMP_STEPS:-10} RAMP_WARMUP=${RAMP_WARMUP:-1} RAMP_DURATION=${RAMP_DURATION:-2}
else
  CLIENTS=${CLIENTS:-200} SENDERS=${SENDERS:-20} RATE=${RATE:-10} WARMUP=${WARMUP:-15} DURATION=${DURATION:-10}
  SETTLE=${SETTLE:-15} RAMP_START=${RAMP_START:-5} RAMP_FACTOR=${RAMP_FACTOR:-1.6} RAMP_STEPS=${RAMP_STEPS:-16} RAMP_WARMUP=${RAMP_WARMUP:-2} RAMP_DURATION=${RAMP_DURATION:-4}
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS="$OUT/results.jsonl"
echo "Results in $OUT"

uses() { case " $SETUPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

echo "Building (Release)..."
projects="bench/Chat.LoadGen"
[ -z "${CHAT_DLL:-}" ] && projects="Chat.Api $projects"
uses signalr-2x && projects+=" bench/Baselines.SignalR"
for project in $projects; do
  dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
done
CHAT_DLL=${CHAT_DLL:-Chat.Api/$BIN/Chat.Api.dll}
SIGNALR_DLL="bench/Baselines.SignalR/$BIN/Baselines.SignalR.dll"
LOADGEN="bench/Chat.LoadGen/$BIN/Chat.LoadGen.dll"
echo "Chat.Api: $CHAT_DLL ($(git -C "$(dirname "$CHAT_DLL")/../../.." log -1 --format='%h %s' 2>/dev/null | cut -c1-100))"

# The replicas' SQLite files and Redis's folder live here; removed at the end.
TMP=$(mktemp -d /tmp/chat-scaleout-XXXXXX)

# A loopback port nobody listens on, above the last one handed out.
NEXT_PORT=$BASE_PORT
free_port() {
  local port=$1
  while ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do port=$((port + 1)); done
  echo "$port"
}

SERVER_PIDS=()
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PIDS=()
}

REDIS_PID=
REDIS_PORT=$(free_port "$REDIS_BASE_PORT")
redis() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
start_redis() {
  mkdir -p "$TMP/redis"
  taskset -c "$SERVER_CORE" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$TMP/redis" --daemonize no >"$OUT/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 50); do
    [ "$(redis ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "redis-server did not start; see $OUT/redis.log"
  exit 1
}
stop_redis() {
  [ -n "$REDIS_PID" ] || return 0
  kill "$REDIS_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$REDIS_PID" 2>/dev/null || true
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=
}
cleanup() { stop_servers; stop_redis; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start_redis
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID, core $SERVER_CORE)"

# start_one KIND PORT LOG [VAR=VALUE...]: one server process on the server core; waits (bounded) until /stats answers.
start_one() {
  local kind=$1 port=$2 log=$3
  shift 3
  (
    export ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
    # The per-client anti-flood limits would refuse a benchmark's senders (as in run.sh).
    export Chat__MessagesPerSecond=1000000 Chat__MessageBurst=1000000 \
      Chat__MaxConnections=100000 Chat__MaxConnectionsPerAddress=100000
    [ $# -gt 0 ] && export "$@"
    [ "$kind" = chat ] && [ -n "${CHAT_ENV:-}" ] && export ${CHAT_ENV}
    [ "$kind" = signalr ] && [ -n "${SIGNALR_ENV:-}" ] && export ${SIGNALR_ENV}
    case $kind in
      chat) exec taskset -c "$SERVER_CORE" dotnet "$CHAT_DLL" --urls "http://127.0.0.1:$port" ;;
      signalr) exec taskset -c "$SERVER_CORE" dotnet "$SIGNALR_DLL" --urls "http://127.0.0.1:$port" ;;
    esac
  ) >"$log" 2>&1 &
  SERVER_PIDS+=("$!")
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$port/stats" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "$kind on $port did not start; see $log"
  return 1
}

label() {
  case $1 in
    chat-single) echo Chat.Api ;; chat-2x) echo Chat.Api-2x-Redis ;; signalr-2x) echo SignalR-2x-Redis ;;
  esac
}

# start_setup SETUP SCENARIO: the setup's servers on fresh ports; sets URLS, PIDS (servers, then Redis) and STORES.
start_setup() {
  local setup=$1 scenario=$2 cache="ConnectionStrings__cache=127.0.0.1:$REDIS_PORT" i port
  URLS= PIDS= STORES=()
  local replicas=2
  [ "$setup" = chat-single ] && replicas=1
  for i in $(seq "$replicas"); do
    port=$(free_port "$NEXT_PORT")
    NEXT_PORT=$((port + 1))
    local log="$OUT/$setup-$scenario-$i.log"
    case $setup in
      chat-single)
        STORES+=("$TMP/$setup-$scenario.db")
        start_one chat "$port" "$log" Chat__History__Path="${STORES[0]}" || return 1 ;;
      chat-2x)
        if [ "$HISTORY" = shared ]; then STORES=("$TMP/$setup-$scenario.db"); else STORES+=("$TMP/$setup-$scenario-$i.db"); fi
        start_one chat "$port" "$log" "$cache" Chat__History__Path="${STORES[-1]}" || return 1 ;;
      signalr-2x)
        start_one signalr "$port" "$log" "$cache" || return 1 ;;
    esac
    URLS+="${URLS:+,}http://127.0.0.1:$port"
  done
  PIDS=$(IFS=,; echo "${SERVER_PIDS[*]}")
  [ "$setup" != chat-single ] && PIDS+=",$REDIS_PID"
  return 0
}

run_loadgen() {
  local scenario=$1 setup=$2
  local protocol=chat
  [ "$setup" = signalr-2x ] && protocol=signalr
  local common=(--urls "$URLS" --protocol "$protocol" --server-pid "$PIDS" --label "$(label "$setup")" --out "$RESULTS")
  [ "$setup" != chat-single ] && common+=(--redis "127.0.0.1:$REDIS_PORT")
  local args limit
  case $scenario in
    fanout) args=(--clients "$CLIENTS" --senders "$SENDERS" --rate "$RATE" --warmup "$WARMUP" --duration "$DURATION"); limit=150 ;;
    ramp | ramp_lossless)
      args=(--clients "$CLIENTS" --senders "$SENDERS" --rate "$RAMP_START" --factor "$RAMP_FACTOR" --steps "$RAMP_STEPS"
        --warmup "$RAMP_WARMUP" --duration "$RAMP_DURATION" --settle "$SETTLE" --max-seconds 150); limit=360
      # The same ramp with the latency bound raised to LOSSLESS_P99_MS: how much a setup delivers in full (nothing
      # lost, duplicated, reordered or dropped, 90 % of the offered rate) whatever its tail latency. A second figure,
      # filed apart (ramp_lossless); "sustained" stays the ramp's p99 <= 250 ms.
      [ "$scenario" = ramp_lossless ] && args+=(--p99-limit-ms "${LOSSLESS_P99_MS:-5000}" --as ramp_lossless)
      scenario=ramp ;;
    *) echo "  (scenario $scenario is not measured here: fanout, ramp or ramp_lossless)"; return 0 ;;
  esac
  # Socket completions on the epoll thread, as in run.sh.
  DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 \
    timeout --kill-after=10 "$limit" taskset -c "$GENERATOR_CORE" dotnet "$LOADGEN" "$scenario" "${common[@]}" "${args[@]}" \
    || echo "  ($scenario against $setup ended with status $?)"
}

# The last figure the generator wrote for this run, or 0.
last_figure() {
  local key=$1
  tail -n 20 "$RESULTS" 2>/dev/null | grep "\"scenario\":\"$2\",\"server\":\"$3\"" | tail -1 \
    | sed -n "s/.*\"$key\":\([0-9.]*\).*/\1/p" | grep . || echo 0
}

# redis_whole_run SETUP SCENARIO: Redis's commands over the whole run (joins, leaves, presence included) per message.
redis_whole_run() {
  local setup=$1 scenario=$2 name
  name=$(label "$setup")
  redis info commandstats >"$OUT/redis-$setup-$scenario.txt" 2>&1 || return 0
  local sent
  sent=$(last_figure messages_sent_total "$scenario" "$name")
  awk -v scenario="$scenario" -v server="$name" -v sent="$sent" -F'[:,=]' '
    /^cmdstat_/ {
      cmd = substr($1, 9)
      if (cmd == "info" || cmd == "flushall" || cmd == "config|resetstat" || cmd == "ping") next
      calls[cmd] = $3; total += $3
    }
    END {
      n = 0
      for (c in calls) order[++n] = c
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (calls[order[j]] > calls[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
      list = ""
      for (i = 1; i <= n; i++) list = list (i > 1 ? ", " : "") sprintf("%s %d (%.2f)", order[i], calls[order[i]], sent > 0 ? calls[order[i]] / sent : 0)
      format = "{\"scenario\":\"redis_%s\",\"server\":\"%s\",\"messages_sent_total\":%d,\"redis_commands_whole_run\":%d,"
      format = format "\"redis_commands_per_message_whole_run\":%.4f,\"redis_calls_whole_run\":\"%s\"}\n"
      printf(format, scenario, server, sent, total, sent > 0 ? total / sent : 0, list)
    }' "$OUT/redis-$setup-$scenario.txt" | tee -a "$RESULTS" | sed 's/^/  /' || echo "  (could not read Redis's commandstats)"
}

# measure_stores SETUP SCENARIO: after the servers stopped, the messages each SQLite file holds: with a file per
# replica, whether the durable store got each message once (their sum equals the messages sent) or once per replica.
measure_stores() {
  local setup=$1 scenario=$2 store rows total=0 each=
  [ "$setup" = signalr-2x ] && return 0
  for store in "${STORES[@]}"; do
    rows=0
    [ -f "$store" ] && rows=$(sqlite3 "$store" "PRAGMA wal_checkpoint(TRUNCATE);" "SELECT count(*) FROM messages;" 2>/dev/null | tail -1)
    total=$((total + ${rows:-0}))
    each+="${each:+ }${rows:-0}"
  done
  local sent
  sent=$(last_figure messages_sent_total "$scenario" "$(label "$setup")")
  echo "{\"scenario\":\"store_$scenario\",\"server\":\"$(label "$setup")\",\"messages_stored\":$total,\"messages_stored_per_file\":\"$each\",\"messages_sent_total\":${sent%.*}}" \
    | tee -a "$RESULTS" | sed 's/^/  /'
}

# wait_quiet: on a shared machine, waits (at most QUIET_WAIT seconds, default 180) until both cores have been at least
# 85 % idle for 2 s before a run starts, so that a neighbour's build does not land in a measurement; says so if not.
wait_quiet() {
  local waited=0 busy
  while :; do
    busy=$(core_busy 2)
    [ "$busy" -lt 15 ] && break
    if [ "$waited" -ge "${QUIET_WAIT:-180}" ]; then
      echo "  (the machine stayed busy: ${busy} % of both cores used by others after ${waited} s; running anyway)"
      return 0
    fi
    [ "$waited" = 0 ] && echo "  waiting for a quiet machine (${busy} % busy)..."
    sleep 3
    waited=$((waited + 5))
  done
  [ "$waited" -gt 0 ] && echo "  quiet after ${waited} s"
  return 0
}
# core_busy SECONDS: percent of all cores busy over the interval, every process counted (from /proc/stat).
core_busy() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  sleep "$1"
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  echo "$a $b" | awk '{d = $4 - $2; print (d > 0 ? int(100 * ($3 - $1) / d) : 0)}'
}

# What else ran on the machine, for the record: the load and any other dotnet or build process.
machine_note() {
  { echo "== $1 $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    ps -eo pid,pcpu,etime,args --sort=-pcpu | grep -E 'dotnet|MSBuild|VBCSCompiler|chromium' | grep -v grep | cut -c1-160 | head -8
  } >>"$OUT/machine.log" 2>&1 || true
}

for scenario in $SCENARIOS; do
  for setup in $SETUPS; do
    echo
    echo "== $scenario: $(label "$setup") =="
    redis flushall >/dev/null
    redis config resetstat >/dev/null
    [ "${QUIET_WAIT:-180}" -gt 0 ] && wait_quiet
    machine_note "$scenario $setup start"
    if start_setup "$setup" "$scenario"; then
      echo "  servers $URLS (pids $PIDS)"
      run_loadgen "$scenario" "$setup"
    fi
    machine_note "$scenario $setup end"
    stop_servers
    [ "$setup" != chat-single ] && redis_whole_run "$setup" "$scenario"
    measure_stores "$setup" "$scenario"
  done
done

echo
echo "Sizes: QUICK=${QUICK:-0} clients=$CLIENTS over the replicas, senders=$SENDERS, rate=$RATE/s each, warm-up ${WARMUP}s, ramp settles ${SETTLE}s," \
  "${DURATION}s measured; ramp from $RAMP_START/s x$RAMP_FACTOR; history: a SQLite file $([ "$HISTORY" = shared ] && echo "shared by both replicas" || echo "per replica")" | tee "$OUT/table.md"
[ -s "$RESULTS" ] && dotnet "$LOADGEN" report --in "$RESULTS" --baseline "Chat.Api,SignalR-2x-Redis" | tee -a "$OUT/table.md"
