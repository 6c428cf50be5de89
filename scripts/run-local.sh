#!/usr/bin/env bash
# Runs Chat.Api (http://localhost:5080) and Chat.Web (http://localhost:5000) together without Aspire.
# Ctrl+C stops both. Chat.Web forwards /ws, /stats, /room and /health to the API, as the AppHost wires it.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Chat.Web/Chat.Web.csproj -v quiet -nologo
dotnet build Chat.Api/Chat.Api.csproj -v quiet -nologo
trap 'kill 0' EXIT INT TERM
dotnet run --no-build --project Chat.Api --launch-profile http &
services__api__http__0=http://localhost:5080 dotnet run --no-build --project Chat.Web --launch-profile http &
echo "Chat: open http://localhost:5000 (API on http://localhost:5080). Ctrl+C stops both."
wait
