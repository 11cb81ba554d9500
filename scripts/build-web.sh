#!/usr/bin/env bash
# Builds what web/ serves from more than one source file: the support widget, bundled with the
# SDK's modules it imports (web/sdk/dom.js, …). Output: web/dist/ (git-ignored; `make web`, run by
# `make dev`, `make test` and the deploy):
#   dist/widget.js        the launcher (widget/widget.js): one small classic script a host page loads
#                         with one tag; settings, business hours, the bubble, the global and its queue
#   dist/widget-panel-<hash>.js  the panel (widget/panel.js): an ES module the launcher loads with
#                         import() when the visitor opens the widget or a conversation is open; its
#                         name changes with its content (cached a year on AWS), and the launcher
#                         is built with that name
#
#   scripts/build-web.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ESBUILD="$ROOT/.local/tools/esbuild/node_modules/.bin/esbuild"
[ -x "$ESBUILD" ] || "$ROOT/scripts/install-tools.sh" web >/dev/null
cd "$ROOT/web"
# A classic script (an IIFE: no globals but the ones it sets on purpose), minified, with a source
# map for debugging; es2020 is what the widget's browsers run (optional chaining, ??).
rm -f dist/widget-panel*.js dist/widget-panel*.js.map
# The panel's texts in seven languages stay UTF-8 (--charset=utf8: a module script is always read
# as UTF-8), not \u escapes: 2 bytes a Cyrillic or Arabic letter instead of 6.
"$ESBUILD" widget/panel.js --bundle --format=esm --target=es2020 --minify --sourcemap --charset=utf8 \
  --legal-comments=none --log-level=warning --outdir=dist --entry-names='widget-panel-[hash]'
panel="$(cd dist && ls widget-panel-*.js)"
"$ESBUILD" widget/widget.js --bundle --format=iife --target=es2020 --minify --sourcemap \
  --legal-comments=none --log-level=warning --define:__PANEL_FILE__="\"$panel\"" --outfile=dist/widget.js
