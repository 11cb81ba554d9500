#!/usr/bin/env bash
# `make deploy`: lint, build every function for Lambda (arm64, cargo-lambda + zig, through SAM),
# make sure the JWT secret exists in SSM, then `sam deploy` (guided on the first run, which writes
# samconfig.toml), then upload web/ (the widget bundles, the SDK, the console) to the stack's
# CloudFront-fronted bucket and print the one-line snippet for a site's pages
# (scripts/web-upload.py). `make destroy` (this script with --destroy) empties that bucket and
# deletes the stack.
#
# Needs AWS credentials (environment, ~/.aws, SSO...). Everything else is installed into
# .local/tools/deploy by scripts/install-tools.sh.
#
#   STACK_NAME   stack name (default: chat)
#   AWS_REGION   region (default: from your AWS configuration)
#   JWT_SECRET_PARAM   SSM SecureString with the HS256 token secret (default: /chat/jwt-secret);
#                created with a random value if missing
#   ARCH         arm64 (default) or x86_64
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
STACK="${STACK_NAME:-chat}"
PARAM="${JWT_SECRET_PARAM:-/chat/jwt-secret}"
ARCH="${ARCH:-arm64}"
say() { printf '[deploy] %s\n' "$*"; }

scripts/install-tools.sh deploy >/dev/null
export PATH="$ROOT/.local/tools/deploy/bin:$PATH"
export SAM_CLI_TELEMETRY=0
export SAM_CLI_BETA_RUST_CARGO_LAMBDA=1
REGION_ARGS=()
if [ -n "${AWS_REGION:-}" ]; then REGION_ARGS=(--region "$AWS_REGION"); fi

if [ "${1:-}" = "--destroy" ]; then
  "$ROOT/.local/tools/deploy/bin/python" scripts/web-upload.py "$STACK" "${AWS_REGION:-}" --empty || true
  sam delete --stack-name "$STACK" "${REGION_ARGS[@]}"
  say "the SSM parameter $PARAM is kept; delete it with: aws ssm delete-parameter --name $PARAM"
  exit 0
fi

say "lint"
AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}" "$ROOT/.local/tools/venv/bin/cfn-lint" infra/template.yaml
AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}" sam validate --lint --template infra/template.yaml >/dev/null

TEMPLATE=infra/template.yaml
if [ "$ARCH" != arm64 ]; then
  TEMPLATE=.aws-sam/template-$ARCH.yaml
  mkdir -p .aws-sam
  sed "s/Architectures: \[arm64\]/Architectures: [$ARCH]/; s#CodeUri: \.\.#CodeUri: ../#" infra/template.yaml > "$TEMPLATE"
fi

say "build (cargo lambda, $ARCH)"
sam build --template "$TEMPLATE" --build-dir .aws-sam/build --beta-features

say "JWT secret in SSM: $PARAM"
"$ROOT/.local/tools/deploy/bin/python" - "$PARAM" "${AWS_REGION:-}" <<'PY' || { say "cannot reach SSM: are AWS credentials configured?"; exit 1; }
import sys, secrets
import boto3
name, region = sys.argv[1], sys.argv[2] or None
ssm = boto3.client("ssm", region_name=region)
try:
    ssm.get_parameter(Name=name)
    print(f"[deploy] {name} exists")
except ssm.exceptions.ParameterNotFound:
    ssm.put_parameter(Name=name, Type="SecureString", Value=secrets.token_hex(32))
    print(f"[deploy] {name} created with a random secret")
PY

say "deploy stack $STACK"
if [ -f samconfig.toml ]; then
  sam deploy --template-file .aws-sam/build/template.yaml "${REGION_ARGS[@]}"
else
  sam deploy --guided --template-file .aws-sam/build/template.yaml --stack-name "$STACK" \
    --capabilities CAPABILITY_IAM --resolve-s3 \
    --parameter-overrides "JwtSecretParameterName=$PARAM" "${REGION_ARGS[@]}"
fi
sam list stack-outputs --stack-name "$STACK" "${REGION_ARGS[@]}" --output table
say "web client (widget, SDK, console) to the WebBucket behind CloudFront"
scripts/build-web.sh
"$ROOT/.local/tools/deploy/bin/python" scripts/web-upload.py "$STACK" "${AWS_REGION:-}"
say "connect clients to the WebSocketUrl above and call the REST API at HttpApiUrl; tokens are HS256 JWTs signed with the secret in $PARAM"
