#!/usr/bin/env bash
# Issue 13, measured: fan-out with history on (SQLite Durable, SQLite WriteBehind, PostgreSQL Durable) against
# history off (Chat.Api at 67eb702, the commit before history), side by side in one run, with ratios to history off;
# then the size of each store and the time to resume 1,000 missed messages. Any run.sh variable applies (QUICK=1, ...).
#
#   git worktree add --detach ../bench-old 67eb702    once: the history-off build (NOHISTORY_TREE)
#   bash bench/history.sh                             about 15 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
export SERVERS=${SERVERS:-"chat-nohistory chat chat-writebehind chat-postgres"}
export SCENARIOS=${SCENARIOS:-"fanout ramp resume"}
export BASELINE=${BASELINE:-chat-nohistory}
exec bash bench/run.sh
