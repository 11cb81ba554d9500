#!/usr/bin/env bash
# Builds what web/ serves from more than one source file: the support widget, bundled with the
# SDK's modules it imports (web/sdk/dom.js, …). Output: web/dist/ (git-ignored; `make web`, run by
# `make dev`, `make test` and the deploy):
#   dist/widget.js        the launcher (widget/widget.js): one small classic script a host page loads
#                         with one tag; settings, business hours, the bubble, the global and its queue
#   dist/widget-panel.js  the panel (widget/panel.js): an ES module the launcher loads with import()
#                         when the visitor opens the widget or a conversation is open
#
#   scripts/build-web.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ESBUILD="$ROOT/.local/tools/esbuild/node_modules/.bin/esbuild"
[ -x "$ESBUILD" ] || "$ROOT/scripts/install-tools.sh" web >/dev/null
cd "$ROOT/web"
# A classic script (an IIFE: no globals but the ones it sets on purpose), minified, with a source
# map for debugging; es2020 is what the widget's browsers run (optional chaining, ??).
"$ESBUILD" widget/widget.js --bundle --format=iife --target=es2020 --minify --sourcemap \
  --legal-comments=none --log-level=warning --outfile=dist/widget.js
"$ESBUILD" widget/panel.js --bundle --format=esm --target=es2020 --minify --sourcemap \
  --legal-comments=none --log-level=warning --outfile=dist/widget-panel.js
