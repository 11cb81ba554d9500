#!/usr/bin/env bash
# Installs the tools the local stack and the tests need into .local/tools (git-ignored; a link to
# the machine's shared tools, see scripts/tools-home.sh). Idempotent: each tool is skipped when
# its pinned version is already there; downloads are cached.
#
#   scripts/install-tools.sh            # what `make dev` needs: DynamoDB Local, moto, esbuild
#   scripts/install-tools.sh all        # + cfn-lint, schemathesis, the Web Push test libraries, Playwright and Chromium (what `make test` needs)
#   scripts/install-tools.sh deploy     # cfn-lint, SAM CLI, cargo-lambda and zig (what `make deploy` needs)
#   scripts/install-tools.sh browser    # only Chromium and the browser tests' npm packages (Playwright, axe-core, TypeScript)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/tools-home.sh
. "$ROOT/scripts/tools-home.sh"
tools_lock

DYNAMODB_SIMULATOR_VERSION=2.9.30   # npm amplify-dynamodb-simulator: ships DynamoDB Local
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0
CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
SAM_CLI_VERSION=1.170.0
PLAYWRIGHT_VERSION=1.65.1
AXE_CORE_VERSION=4.14.1             # accessibility checks in the browser tests
TYPESCRIPT_VERSION=5.9.3            # the SDK's declarations (tsc from JSDoc) and the TypeScript consumer test
SCHEMATHESIS_VERSION=4.32.5
CHECKOV_VERSION=3.3.30              # the IaC scanner security teams run (make lint)
ESBUILD_VERSION=0.28.2              # bundles web/ (the widget from the SDK's modules): scripts/build-web.sh
HTTP_ECE_VERSION=1.2.1
PY_VAPID_VERSION=1.9.6

say() { printf '[install-tools] %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
stamp_ok() { [ -f "$1/.installed" ] && [ "$(cat "$1/.installed")" = "$2" ]; }

apt_install() {
  if have apt-get && [ "$(id -u)" = 0 ]; then
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
  else
    say "please install: $* (needs root and apt-get)"; return 1
  fi
}

need_java() {
  if have java && java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then return 0; fi
  apt_install openjdk-17-jre-headless || apt_install default-jre-headless
}

install_dynamodb() {
  local dir="$TOOLS/dynamodb"
  if stamp_ok "$dir" "$DYNAMODB_SIMULATOR_VERSION" && [ -f "$dir/DynamoDBLocal.jar" ]; then return 0; fi
  need_java
  say "DynamoDB Local (npm amplify-dynamodb-simulator@$DYNAMODB_SIMULATOR_VERSION)"
  local tgz="$CACHE/amplify-dynamodb-simulator-$DYNAMODB_SIMULATOR_VERSION.tgz"
  if [ ! -s "$tgz" ]; then
    (cd "$CACHE" && npm pack --silent "amplify-dynamodb-simulator@$DYNAMODB_SIMULATOR_VERSION" >/dev/null)
  fi
  local tmp; tmp="$(mktemp -d)"
  tar -xzf "$tgz" -C "$tmp"
  rm -rf "$dir"; mkdir -p "$dir"
  cp -r "$tmp/package/emulator/." "$dir/"
  rm -rf "$tmp"
  [ -f "$dir/DynamoDBLocal.jar" ] || { say "DynamoDBLocal.jar not found in the package"; exit 1; }
  echo "$DYNAMODB_SIMULATOR_VERSION" > "$dir/.installed"
}

venv() {
  local v="$TOOLS/${1:-venv}"
  if [ ! -x "$v/bin/python" ]; then
    say "python venv at .local/tools/${1:-venv}"
    python3 -m venv "$v"
    "$v/bin/pip" install -q --upgrade pip >/dev/null
  fi
}

pip_pkg() { # name spec [venv]: installs spec into .local/tools/<venv> (default: venv)
  local name="$1" spec="$2" env="${3:-venv}"
  local stamp="$TOOLS/$env/.$name"
  venv "$env"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec" ]; then return 0; fi
  say "pip install $spec (.local/tools/$env)"
  "$TOOLS/$env/bin/pip" install -q --cache-dir "$CACHE/pip" "$spec"
  echo "$spec" > "$stamp"
}

install_moto() { pip_pkg moto "moto[server]==$MOTO_VERSION"; }
install_cfn_lint() { pip_pkg cfn-lint "cfn-lint==$CFN_LINT_VERSION"; }
# checkov in its own venv: it pins many libraries of its own.
install_checkov() { pip_pkg checkov "checkov==$CHECKOV_VERSION" checkov; }
# The SAM CLI alone (sam validate --lint in make lint), in the deploy tools' venv.
install_sam() { pip_pkg aws-sam-cli "aws-sam-cli==$SAM_CLI_VERSION" deploy; }
# schemathesis (OpenAPI-driven tests of the REST API) in its own venv: it pins its own libraries.
install_schemathesis() { pip_pkg schemathesis "schemathesis==$SCHEMATHESIS_VERSION" st; }
# The local push service stand-in of the Web Push tests (tests/push/push_service.py): aes128gcm
# decryption and VAPID JWT checks, as a browser's push service does them.
install_push_test() {
  pip_pkg http-ece "http-ece==$HTTP_ECE_VERSION"
  pip_pkg py-vapid "py-vapid==$PY_VAPID_VERSION"
}
# Deploy tools live in their own venv: the SAM CLI pins boto and friends differently from moto.
install_deploy_tools() {
  pip_pkg cargo-lambda "cargo-lambda==$CARGO_LAMBDA_VERSION" deploy
  pip_pkg ziglang "ziglang==$ZIGLANG_VERSION" deploy
  pip_pkg aws-sam-cli "aws-sam-cli==$SAM_CLI_VERSION" deploy
  if ! rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu; then
    say "rustup target add aarch64-unknown-linux-gnu (Lambda arm64)"
    rustup target add aarch64-unknown-linux-gnu || say "could not add the arm64 target: build with ARCH=x86_64"
  fi
}

install_esbuild() {
  local dir="$TOOLS/esbuild"
  if stamp_ok "$dir" "$ESBUILD_VERSION" && [ -x "$dir/node_modules/.bin/esbuild" ]; then return 0; fi
  say "esbuild $ESBUILD_VERSION (npm)"
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund --no-save --cache "$CACHE/npm" "esbuild@$ESBUILD_VERSION" >/dev/null)
  echo "$ESBUILD_VERSION" > "$dir/.installed"
}

install_browser() {
  if ! [ -x /usr/bin/chromium ]; then apt_install chromium; fi
  local dir="$ROOT/tests/browser"
  # tests/browser/package.json pins them; npm install only when one is missing or another version.
  local pkg version missing=""
  for pkg in "playwright-core:$PLAYWRIGHT_VERSION" "axe-core:$AXE_CORE_VERSION" "typescript:$TYPESCRIPT_VERSION"; do
    version="${pkg#*:}"; pkg="${pkg%%:*}"
    if ! grep -q "\"version\": \"$version\"" "$dir/node_modules/$pkg/package.json" 2>/dev/null; then missing="$missing $pkg@$version"; fi
  done
  if [ -n "$missing" ]; then
    say "npm install$missing (tests/browser)"
    (cd "$dir" && npm install --silent --no-audit --no-fund --cache "$CACHE/npm" >/dev/null)
  fi
}

what="${1:-dev}"
case "$what" in
  dev) install_dynamodb; install_moto; install_esbuild ;;
  all) install_dynamodb; install_moto; install_esbuild; install_cfn_lint; install_checkov; install_sam; install_schemathesis; install_push_test; install_browser ;;
  push) install_push_test ;;
  schemathesis) install_schemathesis ;;
  deploy) install_cfn_lint; install_deploy_tools ;;
  lint) install_cfn_lint; install_checkov; install_sam ;;
  browser) install_browser ;;
  web) install_esbuild ;;
  *) echo "usage: $0 [dev|all|lint|deploy|browser|schemathesis|push|web]"; exit 2 ;;
esac
say "ok ($what)"
