# The two commands a newcomer runs: `make dev` (the whole local stack) and `make test` (every test).
# `make deploy` ships to AWS (see README, "Deploy").

CARGO ?= cargo
TOOLS := .local/tools
DEV_ARGS ?=
# `make dev RELEASE=1`: optimized functions (profile `local`), several times faster under load;
# the first build takes longer (see README, "The local platform").
RELEASE ?=
ifeq ($(RELEASE),1)
PROFILE_DIR := target/local
BUILD_FLAGS := --profile local
else
PROFILE_DIR := target/debug
BUILD_FLAGS :=
endif

.PHONY: dev test build web tools lint test-rust test-browser test-localstack bench fuzz chaos deploy destroy release clean

## Start the whole local stack: emulators, the gateway, the real functions. Prints the ws:// URL.
## `make dev LOCALSTACK=1`: the same stack on LocalStack (scripts/localstack.sh), stopped with it.
LOCALSTACK ?=
dev: tools web
	$(CARGO) build --workspace --bins $(BUILD_FLAGS)
ifeq ($(LOCALSTACK),1)
	@url=$$(./scripts/localstack.sh start | sed -n 's/^AWS_ENDPOINT_URL=//p') && test -n "$$url" || exit 1; \
	trap './scripts/localstack.sh stop' EXIT; \
	AWS_ENDPOINT_URL=$$url ./$(PROFILE_DIR)/chat-dev --bin-dir $(PROFILE_DIR) $(DEV_ARGS)
else
	./$(PROFILE_DIR)/chat-dev --bin-dir $(PROFILE_DIR) $(DEV_ARGS)
endif

## Run every test: unit, integration (real sockets, DynamoDB Local, moto), template lint, browser,
## and the integration suites again on LocalStack.
test: build
	./scripts/install-tools.sh all
	$(MAKE) lint test-rust test-browser test-localstack

build:
	$(CARGO) build --workspace --bins

tools:
	./scripts/install-tools.sh dev

## web/dist: the widget bundled with the SDK's modules it imports (esbuild).
web:
	./scripts/build-web.sh

## The template (cfn-lint, checkov: infra/checkov.yaml, sam validate --lint), Rust formatting (rustfmt.toml) and clippy
## with warnings as errors.
lint:
	AWS_DEFAULT_REGION=us-east-1 $(TOOLS)/venv/bin/cfn-lint infra/template.yaml
	$(TOOLS)/checkov/bin/checkov -f infra/template.yaml --config-file infra/checkov.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(TOOLS)/deploy/bin/sam validate --lint -t infra/template.yaml
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# web: chat-dev serves the widget's bundles (web/dist), which the dev test fetches.
test-rust: web
	$(CARGO) test --workspace

test-browser: web
	npm test --prefix tests/browser

## The integration suites against LocalStack in host mode (no Docker): the same tests, the same
## function binaries, every AWS call to LocalStack (AWS_ENDPOINT_URL); the local gateway still plays
## API Gateway and Lambda (LocalStack's free edition has no API Gateway v2, its Lambda needs Docker).
## (`--workspace`: the same features, so the test binaries `make test-rust` built are reused.)
LOCALSTACK_SUITES ?= chat rest support attachments push store localstack
test-localstack: build
	./scripts/localstack.sh install
	@url=$$(./scripts/localstack.sh start | sed -n 's/^AWS_ENDPOINT_URL=//p') && test -n "$$url" || exit 1; \
	status=0; AWS_ENDPOINT_URL=$$url $(CARGO) test --workspace $(foreach s,$(LOCALSTACK_SUITES),--test $(s)) || status=$$?; \
	./scripts/localstack.sh stop; exit $$status

## Cost and speed figures (DynamoDB capacity per action, gateway overheads), then a load run on
## the local stack (optimized functions): LOAD_ARGS="--sockets 1000 --rooms 100 --rate 100".
LOAD_ARGS ?= --sockets 200 --rooms 20 --rate 50 --duration 20
bench: tools build
	$(CARGO) run -q -p chat-bench
	$(CARGO) build -q --workspace --bins --profile local
	./scripts/load.sh $(LOAD_ARGS)

## Property-based fuzzing of every action's input: FUZZ_CASES frames (default 10 M) on the rules
## with in-memory doubles; `make test` runs 2,000 of them.
FUZZ_CASES ?= 10000000
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --profile local -p chat-shared --lib fuzz_many -- --ignored --nocapture

## Chaos: the chaos test (tests/tests/chaos.rs) with CHAOS_MESSAGES messages through the local
## platform injecting faults (`make test` runs 600); prints its figures. Also CHAOS_USERS,
## CHAOS_SEED, CHAOS_FAULTS (chat-dev's --faults syntax), CHAOS_DROP.
CHAOS_MESSAGES ?= 20000
chaos: tools build
	CHAOS_MESSAGES=$(CHAOS_MESSAGES) $(CARGO) test -p chat-tests --test chaos chaos_nothing_lost -- --nocapture

## Build every function for Lambda (arm64) and deploy with SAM; guided on first run.
deploy:
	./scripts/deploy.sh

destroy:
	./scripts/deploy.sh --destroy

clean:
	$(CARGO) clean
	rm -rf .local tests/artifacts

## Build the Lambda zips locally (no AWS needed) and print their sizes.
release:
	./scripts/package.sh
