#!/usr/bin/env bash
# LocalStack without Docker, as its container runs it: `python -m localstack.runtime.main` from the
# PyPI package `localstack-core`, in host mode, with its data under .local/localstack.
#
#   scripts/localstack.sh install   # pinned localstack-core in .local/tools/localstack (idempotent)
#   scripts/localstack.sh start     # starts it on a free port; prints AWS_ENDPOINT_URL=http://127.0.0.1:PORT
#   scripts/localstack.sh stop      # stops the one this script started (by its PID)
#   scripts/localstack.sh env       # prints AWS_ENDPOINT_URL of the running one (nothing if none)
#
# Why this shape (measured here, ../shared/toolchain-facts.md): the `localstack` CLI needs Docker and
# an auth token; `localstack-core` needs Python >= 3.12 (it declares 3.10 but uses 3.12 syntax) and
# three pins newer releases break at start. Its DynamoDB downloads Java 21, DynamoDB Local and a Java
# agent at first use: this script fills its library folder instead — the JDK of this machine, the
# DynamoDB Local that install-tools.sh gets from npm, and a do-nothing agent (the real one only lifts
# DynamoDB Local's 20-index limit) — so nothing is downloaded at run time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/tools-home.sh
. "$ROOT/scripts/tools-home.sh"
DIR="$TOOLS/localstack"
DATA="$ROOT/.local/localstack"
PIDFILE="$DATA/localstack.pid"
PORTFILE="$DATA/localstack.port"
LOG="$DATA/localstack.log"

LOCALSTACK_VERSION=2026.3.0
PINS=("cbor2<6" "pyopenssl<26" "localstack-twisted<26")

say() { printf '[localstack] %s\n' "$*" >&2; }

# A Python >= 3.12: python3.13/3.12 on the PATH, pyenv's, or the system's python3 if new enough.
find_python() {
  local c
  for c in python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$c"
      return 0
    fi
  done
  say "LocalStack needs Python 3.12 or newer, and none was found."
  say "Install one (pyenv install 3.12, or your distribution's python3.12) and run this again."
  return 1
}

# A Java class file for `public class NoopAgent { public static void premain(String, Instrumentation) {} }`,
# written byte by byte (a JRE has no javac), in a jar whose manifest names it as the agent.
noop_agent_jar() {
  "$DIR/venv/bin/python" - "$1" <<'PY'
import struct, sys, zipfile
def utf8(s):
    b = s.encode()
    return b"\x01" + struct.pack(">H", len(b)) + b
pool = [
    b"\x07" + struct.pack(">H", 2), utf8("NoopAgent"),
    b"\x07" + struct.pack(">H", 4), utf8("java/lang/Object"),
    utf8("premain"), utf8("(Ljava/lang/String;Ljava/lang/instrument/Instrumentation;)V"), utf8("Code"),
]
code = struct.pack(">HHI", 0, 2, 1) + b"\xb1" + struct.pack(">HH", 0, 0)
cls = (b"\xca\xfe\xba\xbe" + struct.pack(">HHH", 0, 52, len(pool) + 1) + b"".join(pool)
       + struct.pack(">HHHHHH", 0x0021, 1, 3, 0, 0, 1)
       + struct.pack(">HHHH", 0x0009, 5, 6, 1) + struct.pack(">HI", 7, len(code)) + code
       + struct.pack(">H", 0))
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nPremain-Class: NoopAgent\r\n\r\n")
    z.writestr("NoopAgent.class", cls)
PY
}

install() {
  local stamp="$LOCALSTACK_VERSION ${PINS[*]}"
  [ -f "$TOOLS/dynamodb/DynamoDBLocal.jar" ] || "$ROOT/scripts/install-tools.sh" dev >&2
  ( tools_lock
  if [ -f "$DIR/.installed" ] && [ "$(cat "$DIR/.installed")" = "$stamp" ] && [ -x "$DIR/venv/bin/python" ]; then
    :
  else
    local py; py="$(find_python)"
    say "localstack-core $LOCALSTACK_VERSION with $($py --version) in $DIR"
    rm -rf "$DIR"; mkdir -p "$DIR"
    "$py" -m venv "$DIR/venv"
    "$DIR/venv/bin/pip" install -q --disable-pip-version-check --cache-dir "$CACHE/pip" "localstack-core[runtime]==$LOCALSTACK_VERSION" "${PINS[@]}" >&2
    echo "$stamp" > "$DIR/.installed"
  fi )
  # Its DynamoDB's library folder, filled from this machine (DynamoDB Local from install-tools.sh).
  local ddb="$TOOLS/dynamodb" libs="$DATA/var/lib/localstack/lib"
  mkdir -p "$libs/dynamodb-local/2" "$libs/java"
  if [ ! -f "$libs/dynamodb-local/2/DynamoDBLocal.jar" ]; then
    cp -r "$ddb/DynamoDBLocal.jar" "$ddb/DynamoDBLocal_lib" "$libs/dynamodb-local/2/"
  fi
  [ -f "$libs/dynamodb-local/2/ddb-local-loader-0.1.jar" ] || noop_agent_jar "$libs/dynamodb-local/2/ddb-local-loader-0.1.jar"
  if [ ! -e "$libs/java/21/bin/java" ]; then
    local java_home; java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    ln -sfn "$java_home" "$libs/java/21"
  fi
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

free_port() {
  "$DIR/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  install
  if running; then
    echo "AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$PORTFILE")"
    return 0
  fi
  mkdir -p "$DATA"
  local port; port="$(free_port)"
  say "starting on 127.0.0.1:$port (log: $LOG)"
  (
    cd "$DATA"
    OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN="127.0.0.1:$port" LOCALSTACK_HOST="127.0.0.1:$port" FILESYSTEM_ROOT="$DATA" \
      DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 SKIP_INFRA_DOWNLOADS=1 \
      exec "$DIR/venv/bin/python" -m localstack.runtime.main
  ) >"$LOG" 2>&1 &
  echo $! > "$PIDFILE"
  echo "$port" > "$PORTFILE"
  # Ready when its health endpoint answers (it starts services lazily, on first use).
  local i
  for i in $(seq 1 240); do
    if curl -fsS "http://127.0.0.1:$port/_localstack/health" >/dev/null 2>&1; then
      echo "AWS_ENDPOINT_URL=http://127.0.0.1:$port"
      return 0
    fi
    if ! running; then
      say "LocalStack exited at start; its log:"; tail -n 40 "$LOG" >&2
      return 1
    fi
    sleep 0.5
  done
  say "LocalStack did not answer within 120 s; its log:"; tail -n 40 "$LOG" >&2
  stop
  return 1
}

stop() {
  if running; then
    local pid; pid="$(cat "$PIDFILE")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    # Its children (DynamoDB Local's JVM, the Kinesis backend of streams).
    pkill -9 -f "$DATA/var/lib/localstack" 2>/dev/null || true
    say "stopped"
  fi
  rm -f "$PIDFILE" "$PORTFILE"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) if running; then echo "AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$PORTFILE")"; fi ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
