#!/usr/bin/env bash
# Builds Release, then runs every load scenario against Chat.Api, the raw Kestrel baseline and the SignalR hub, one
# server at a time (a fresh process per run), the server pinned to one core and the generator to the other, and prints
# one table with ratios to the raw baseline. Loopback only; every run is bounded by `timeout`.
#
#   bash bench/run.sh                          full sizes (about 12 minutes on 2 cores)
#   QUICK=1 bash bench/run.sh                  smaller sizes
#   SERVERS="chat raw" SCENARIOS="fanout slow" bash bench/run.sh
#   MICRO=1 bash bench/run.sh                  also the BenchmarkDotNet micro-benchmarks (short job, in process)
#   SERVERS=chat SCENARIOS=idle ROOM_SIZE=1 BURST=200 CHAT_ENV="Chat__MessagesPerSecond=10 Chat__MessageBurst=20" bash bench/run.sh
#                                              memory of paced connections (every client over its rate)
#   bash bench/history.sh                      history on (SQLite, write-behind, PostgreSQL) against history off
#
# Servers: raw, chat (Chat.Api, SQLite history, Durable, a fresh file per run), signalr, and for history (issue 13)
# chat-writebehind (SQLite, WriteBehind), chat-postgres (Durable, a fresh database per run on a PostgreSQL server this
# script starts and stops), chat-nohistory (Chat.Api built from NOHISTORY_TREE, a worktree of 67eb702, the commit
# before history). Scenario resume: a client that missed 1,000 messages comes back with since/epoch (history only).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

SERVERS=${SERVERS:-"raw chat signalr"}
SCENARIOS=${SCENARIOS:-"fanout ramp connections idle slow"}
SERVER_CORE=${SERVER_CORE:-0}
GENERATOR_CORE=${GENERATOR_CORE:-1}
BASE_PORT=${BASE_PORT:-5380}
OUT=${OUT:-bench/results/$(date -u +%Y%m%d-%H%M%S)}
BASELINE=${BASELINE:-raw}
# The build just before history (same protocol): git worktree add --detach ../bench-old 67eb702
NOHISTORY_TREE=${NOHISTORY_TREE:-../bench-old}

if [ "${QUICK:-0}" = 1 ]; then
  CLIENTS=${CLIENTS:-50} SENDERS=${SENDERS:-5} RATE=${RATE:-10} WARMUP=${WARMUP:-1} DURATION=${DURATION:-4}
  CONNECTIONS=${CONNECTIONS:-1000} LEAVE=${LEAVE:-900} HOLD=${HOLD:-2} IDLE=${IDLE:-500} ROOM_SIZE=${ROOM_SIZE:-50}
  RAMP_START=${RAMP_START:-40} RAMP_FACTOR=${RAMP_FACTOR:-2} RAMP_STEPS=${RAMP_STEPS:-8} RAMP_WARMUP=${RAMP_WARMUP:-1} RAMP_DURATION=${RAMP_DURATION:-2}
  SLOW_RATE=${SLOW_RATE:-40} SLOW_PAD=${SLOW_PAD:-900} SLOW_DURATION=${SLOW_DURATION:-12}
else
  CLIENTS=${CLIENTS:-200} SENDERS=${SENDERS:-20} RATE=${RATE:-10} WARMUP=${WARMUP:-3} DURATION=${DURATION:-10}
  CONNECTIONS=${CONNECTIONS:-10000} LEAVE=${LEAVE:-9000} HOLD=${HOLD:-5} IDLE=${IDLE:-5000} ROOM_SIZE=${ROOM_SIZE:-100}
  RAMP_START=${RAMP_START:-10} RAMP_FACTOR=${RAMP_FACTOR:-1.6} RAMP_STEPS=${RAMP_STEPS:-14} RAMP_WARMUP=${RAMP_WARMUP:-2} RAMP_DURATION=${RAMP_DURATION:-4}
  SLOW_RATE=${SLOW_RATE:-20} SLOW_PAD=${SLOW_PAD:-900} SLOW_DURATION=${SLOW_DURATION:-25}
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS="$OUT/results.jsonl"
echo "Results in $OUT"

uses() { case " $SERVERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

echo "Building (Release)..."
projects="Chat.Api bench/Chat.LoadGen"
uses raw && projects+=" bench/Baselines.RawKestrel"
uses signalr && projects+=" bench/Baselines.SignalR"
case " $SCENARIOS " in *" idle "*) projects+=" bench/Chat.HeapCensus" ;; esac
uses chat-nohistory && projects+=" $NOHISTORY_TREE/Chat.Api"
for project in $projects; do
  dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
done
BIN=bin/Release/net10.0
NOHISTORY_DLL="$NOHISTORY_TREE/Chat.Api/$BIN/Chat.Api.dll"
# Each run's SQLite file, and the PostgreSQL server's data folder, live here; removed at the end.
STORES=$(mktemp -d /tmp/chat-bench-XXXXXX)
chmod 755 "$STORES"
LOADGEN="bench/Chat.LoadGen/$BIN/Chat.LoadGen.dll"
CENSUS="$PWD/bench/Chat.HeapCensus/$BIN/Chat.HeapCensus.dll"

SERVER_PID=
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# PostgreSQL for chat-postgres: Debian's binaries, a throwaway data folder, loopback only, default durability
# (fsync and synchronous_commit on), as the postgres user when run as root (the server refuses root).
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PG_DATA="$STORES/pg"
PG_PORT=${PG_PORT:-$((BASE_PORT + 90))}
PG_STARTED=
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
start_postgres() {
  mkdir -p "$PG_DATA"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DATA"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --no-locale -E UTF8 --no-instructions >"$OUT/postgres-initdb.log" 2>&1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA" start >>"$OUT/postgres-initdb.log" 2>&1
  PG_STARTED=1
}
stop_postgres() {
  [ -n "$PG_STARTED" ] || return 0
  cp "$PG_DATA/server.log" "$OUT/postgres.log" 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  PG_STARTED=
}
psql_at() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -XAtq -c "$2"; }
cleanup() { stop_server; stop_postgres; rm -rf "$STORES"; }
trap cleanup EXIT
uses chat-postgres && start_postgres

# start_server NAME PORT LOG: a fresh server on one core; waits (bounded) until /stats answers.
start_server() {
  local name=$1 port=$2 log=$3
  (
    export ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
    case $name in
      chat*)
        # The per-client anti-flood limits would refuse a benchmark's senders and its 10,000 loopback clients.
        export Chat__MessagesPerSecond=1000000 Chat__MessageBurst=1000000 \
          Chat__MaxConnections=100000 Chat__MaxConnectionsPerAddress=100000
        local dll="Chat.Api/$BIN/Chat.Api.dll"
        case $name in
          chat) export Chat__History__Path="$STORE" ;;
          chat-writebehind) export Chat__History__Path="$STORE" Chat__History__Durability=WriteBehind ;;
          chat-postgres) export ConnectionStrings__chatdb="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$STORE" ;;
          chat-nohistory) dll=$NOHISTORY_DLL ;;
        esac
        [ -n "${CHAT_ENV:-}" ] && export ${CHAT_ENV}
        exec taskset -c "$SERVER_CORE" dotnet "$dll" --urls "http://127.0.0.1:$port" ;;
      raw) exec taskset -c "$SERVER_CORE" dotnet "bench/Baselines.RawKestrel/$BIN/Baselines.RawKestrel.dll" --urls "http://127.0.0.1:$port" ;;
      signalr) exec taskset -c "$SERVER_CORE" dotnet "bench/Baselines.SignalR/$BIN/Baselines.SignalR.dll" --urls "http://127.0.0.1:$port" ;;
    esac
  ) >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$port/stats" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "$name did not start; see $log"
  return 1
}

label() {
  case $1 in
    chat) echo Chat.Api ;; raw) echo raw ;; signalr) echo SignalR ;;
    chat-writebehind) echo Chat.Api-writebehind ;; chat-postgres) echo Chat.Api-postgres ;; chat-nohistory) echo Chat.Api-nohistory ;;
  esac
}

# new_store SERVER SCENARIO: names a fresh store for the run (a file that does not exist yet, or a new database).
new_store() {
  case $1 in
    chat | chat-writebehind) STORE="$STORES/$1-$2.db" ;;
    chat-postgres) STORE="bench_${2}"; psql_at postgres "CREATE DATABASE $STORE" ;;
    *) STORE= ;;
  esac
}

# measure_store SERVER SCENARIO: after the server stopped (a graceful stop flushes the journal), the messages stored
# and their size on disk: the SQLite file and its -wal after a checkpoint, or pg_total_relation_size of the messages
# table (its indexes and TOAST included).
measure_store() {
  local rows bytes
  case $1 in
    chat | chat-writebehind)
      [ -f "$STORE" ] || return 0
      rows=$(sqlite3 "$STORE" "PRAGMA wal_checkpoint(TRUNCATE);" "SELECT count(*) FROM messages;" | tail -1)
      bytes=$(( $(stat -c %s "$STORE") + $(stat -c %s "$STORE-wal" 2>/dev/null || echo 0) )) ;;
    chat-postgres)
      psql_at "$STORE" "VACUUM ANALYZE messages" >/dev/null 2>&1 || true
      rows=$(psql_at "$STORE" "SELECT count(*) FROM messages")
      bytes=$(psql_at "$STORE" "SELECT pg_total_relation_size('messages')") ;;
    *) return 0 ;;
  esac
  local per=0
  [ "${rows:-0}" -gt 0 ] && per=$((bytes * 1000 / rows))
  echo "  store after $2: $rows messages, $bytes bytes, $per bytes per 1,000 messages"
  echo "{\"scenario\":\"store_$2\",\"server\":\"$(label "$1")\",\"messages_stored\":$rows,\"bytes_on_disk\":$bytes,\"bytes_per_1000_messages\":$per}" >>"$RESULTS"
}

run_scenario() {
  local scenario=$1 server=$2 port=$3
  local protocol=chat
  [ "$server" = signalr ] && protocol=signalr
  local common=(--url "http://127.0.0.1:$port" --protocol "$protocol" --server-pid "$SERVER_PID" --label "$(label "$server")" --out "$RESULTS")
  local args limit
  case $scenario in
    fanout) args=(--clients "$CLIENTS" --senders "$SENDERS" --rate "$RATE" --warmup "$WARMUP" --duration "$DURATION"); limit=120 ;;
    ramp) args=(--clients "$CLIENTS" --senders "$SENDERS" --rate "$RAMP_START" --factor "$RAMP_FACTOR" --steps "$RAMP_STEPS"
            --warmup "$RAMP_WARMUP" --duration "$RAMP_DURATION" --max-seconds 150); limit=330 ;;
    # Then LEAVE of them close at once (the mass departure): those who stay must all stay connected and hear of each.
    connections) args=(--clients "$CONNECTIONS" --leave "$LEAVE" --hold "$HOLD" --max-seconds 120); limit=360 ;;
    # Idle clients in rooms of ROOM_SIZE: little join traffic, so the server's memory growth is the connections'.
    # The heap census counts what the server still reaches, before and while they are held: memory without garbage.
    # BURST=N: every client then sends N messages at once, so a server that paces them is measured with them paced.
    idle) args=(--clients "$IDLE" --room-size "$ROOM_SIZE" --hold "$HOLD" --max-seconds 60 --census "$CENSUS" ${BURST:+--burst "$BURST"}); limit=400 ;;
    slow) args=(--clients "$CLIENTS" --senders "$SENDERS" --rate "$SLOW_RATE" --pad "$SLOW_PAD" --warmup "$WARMUP" --duration "$SLOW_DURATION"); limit=200 ;;
    # Recovery: leave, 1,000 messages later come back with since/epoch; ROUNDS times. Needs history.
    resume) args=(--missed "${MISSED:-1000}" --rounds "${ROUNDS:-20}" --max-seconds 120); limit=150 ;;
  esac
  # Socket completions run on the epoll thread instead of hopping to the thread pool: a third less generator CPU per frame.
  DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 \
    timeout --kill-after=10 "$limit" taskset -c "$GENERATOR_CORE" dotnet "$LOADGEN" "$scenario" "${common[@]}" "${args[@]}" \
    || echo "  ($scenario against $server ended with status $?)"
}

port=$BASE_PORT
for scenario in $SCENARIOS; do
  for server in $SERVERS; do
    port=$((port + 1))
    if [ "$scenario" = idle ] && [ "$server" = signalr ]; then
      continue # the hub has one room (Clients.All), so rooms of ROOM_SIZE do not apply
    fi
    if [ "$scenario" = resume ] && case $server in chat | chat-writebehind | chat-postgres) false ;; *) true ;; esac; then
      continue # nothing to resume from without history
    fi
    echo
    echo "== $scenario: $(label "$server") =="
    new_store "$server" "$scenario"
    if start_server "$server" "$port" "$OUT/$server-$scenario.log"; then
      run_scenario "$scenario" "$server" "$port"
    fi
    stop_server
    measure_store "$server" "$scenario"
  done
done

echo
echo "Sizes: QUICK=${QUICK:-0} clients=$CLIENTS senders=$SENDERS rate=$RATE/s each, warm-up ${WARMUP}s, ${DURATION}s measured;" \
  "connections=$CONNECTIONS, $LEAVE of them leaving at once; idle=$IDLE in rooms of $ROOM_SIZE; ramp from $RAMP_START/s x$RAMP_FACTOR; slow at $SLOW_RATE/s with ${SLOW_PAD}-byte padding for ${SLOW_DURATION}s" | tee "$OUT/table.md"
[ -s "$RESULTS" ] && dotnet "$LOADGEN" report --in "$RESULTS" --baseline "$(label "$BASELINE")" | tee -a "$OUT/table.md"

if [ "${MICRO:-0}" = 1 ]; then
  dotnet build bench/Chat.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly
  micro="$PWD/bench/Chat.Benchmarks/$BIN/Chat.Benchmarks.dll"
  (cd "$OUT" && timeout 900 taskset -c "$SERVER_CORE" dotnet "$micro" --filter '*' --job short --inProcess) | tee "$OUT/micro.txt"
fi
