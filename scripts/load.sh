#!/usr/bin/env bash
# A load run on the local stack: starts chat-dev (optimized build, profile `local`) on a free port,
# runs `chatctl load` against it with the given arguments, prints the figures, stops the stack.
#   scripts/load.sh --sockets 1000 --rooms 100 --rate 100 --duration 30
# Against a deployed stack run chatctl directly:
#   target/local/chatctl load wss://ID.execute-api.REGION.amazonaws.com/prod --secret "$SECRET" ...
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="${BIN_DIR:-target/local}"
STATE="$(mktemp -d)"
LOG="$STATE/chat-dev.log"
"$BIN/chat-dev" --port 0 --bin-dir "$BIN" --state-dir "$STATE" --max-concurrency "${MAX_CONCURRENCY:-20}" \
  --parameter MaxSendsPer10Seconds=1000 > "$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$STATE"' EXIT
for _ in $(seq 1 600); do
  URL=$(grep -m1 -o 'ws://[^ ]*' "$LOG" || true)
  [ -n "$URL" ] && break
  kill -0 $PID 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "chat-dev did not start"; cat "$LOG"; exit 1; }
echo "load run against $URL ($(nproc) cores, functions from $BIN, --max-concurrency ${MAX_CONCURRENCY:-20}): $*"
"$BIN/chatctl" load "$URL" --secret-file "$STATE/dev-secret" "$@"
