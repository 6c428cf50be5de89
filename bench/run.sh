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
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

SERVERS=${SERVERS:-"raw chat signalr"}
SCENARIOS=${SCENARIOS:-"fanout ramp connections idle slow"}
SERVER_CORE=${SERVER_CORE:-0}
GENERATOR_CORE=${GENERATOR_CORE:-1}
BASE_PORT=${BASE_PORT:-5380}
OUT=${OUT:-bench/results/$(date -u +%Y%m%d-%H%M%S)}

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
RESULTS="$OUT/results.jsonl"
echo "Results in $OUT"

echo "Building (Release)..."
for project in Chat.Api bench/Baselines.RawKestrel bench/Baselines.SignalR bench/Chat.LoadGen bench/Chat.HeapCensus; do
  dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
done
BIN=bin/Release/net10.0
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
trap stop_server EXIT

# start_server NAME PORT LOG: a fresh server on one core; waits (bounded) until /stats answers.
start_server() {
  local name=$1 port=$2 log=$3
  (
    export ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
    case $name in
      chat)
        # The per-client anti-flood limits would refuse a benchmark's senders and its 10,000 loopback clients.
        export Chat__MessagesPerSecond=1000000 Chat__MessageBurst=1000000 \
          Chat__MaxConnections=100000 Chat__MaxConnectionsPerAddress=100000 ${CHAT_ENV:-}
        exec taskset -c "$SERVER_CORE" dotnet "Chat.Api/$BIN/Chat.Api.dll" --urls "http://127.0.0.1:$port" ;;
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

label() { case $1 in chat) echo Chat.Api ;; raw) echo raw ;; signalr) echo SignalR ;; esac; }

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
    echo
    echo "== $scenario: $(label "$server") =="
    if start_server "$server" "$port" "$OUT/$server-$scenario.log"; then
      run_scenario "$scenario" "$server" "$port"
    fi
    stop_server
  done
done

echo
echo "Sizes: QUICK=${QUICK:-0} clients=$CLIENTS senders=$SENDERS rate=$RATE/s each, warm-up ${WARMUP}s, ${DURATION}s measured;" \
  "connections=$CONNECTIONS, $LEAVE of them leaving at once; idle=$IDLE in rooms of $ROOM_SIZE; ramp from $RAMP_START/s x$RAMP_FACTOR; slow at $SLOW_RATE/s with ${SLOW_PAD}-byte padding for ${SLOW_DURATION}s" | tee "$OUT/table.md"
[ -s "$RESULTS" ] && dotnet "$LOADGEN" report --in "$RESULTS" --baseline raw | tee -a "$OUT/table.md"

if [ "${MICRO:-0}" = 1 ]; then
  dotnet build bench/Chat.Benchmarks -c Release -nologo -v q -clp:ErrorsOnly
  micro="$PWD/bench/Chat.Benchmarks/$BIN/Chat.Benchmarks.dll"
  (cd "$OUT" && timeout 900 taskset -c "$SERVER_CORE" dotnet "$micro" --filter '*' --job short --inProcess) | tee "$OUT/micro.txt"
fi
