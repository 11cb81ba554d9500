#!/usr/bin/env bash
# `make release`: builds every function for Lambda as a zip (target/lambda/<function>/bootstrap.zip)
# with cargo-lambda and zig, without AWS, and prints the sizes. ARCH=arm64 (default) or x86_64.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
ARCH="${ARCH:-arm64}"
scripts/install-tools.sh deploy >/dev/null
export PATH="$ROOT/.local/tools/deploy/bin:$PATH"
FUNCTIONS=$(ls functions)
BINS=(); for f in $FUNCTIONS; do BINS+=(--bin "$f"); done
FLAG=--arm64; [ "$ARCH" = x86_64 ] && FLAG=--x86-64
cargo lambda build --release "$FLAG" --output-format zip "${BINS[@]}"
for f in $FUNCTIONS; do
  z="target/lambda/$f/bootstrap.zip"
  printf '%-12s %8.1f KiB  %s\n' "$f" "$(echo "$(stat -c %s "$z") / 1024" | bc -l)" "$z"
done
