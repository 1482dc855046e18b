# haul's developer entry points. Every target sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser UI: `npm ci` reruns when the lock file changes, the build when a source does.
WEB := gateway/web
WEB_STAMP := $(WEB)/node_modules/.installed
WEB_SOURCES := $(WEB)/package.json $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json \
	$(filter-out %.test.ts,$(shell find $(WEB)/src -type f 2>/dev/null))
WEB_BUILT := $(WEB)/dist/index.html
# Debian packages the test suite and `make run` need: private PostgreSQL and Redis servers,
# the download tools (ffmpeg with ffprobe, aria2), and chromium for the browser tests.
APT_PACKAGES := postgresql redis-server ffmpeg aria2 chromium

export HAUL_DATABASE_URL ?= sqlite+aiosqlite:///var/haul.db

.PHONY: setup system-deps web test test-fast lint protos types migrate run bench-progress bench-egress bench-flood bench-collections bench-latency test-deploy clean

## setup: create .venv and install haul with its dev tools, and build the web UI (idempotent; reruns what changed)
setup: $(STAMP) web

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

## system-deps: install missing Debian packages when running as root; otherwise say what is missing
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	command -v aria2c >/dev/null || missing="$$missing aria2"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "warning: missing Debian packages:$$missing (install them, or run make as root)"; \
	  fi; \
	fi

## web: install the UI's npm packages when package-lock.json changed, and build it into gateway/web/dist when a source did
web: $(WEB_BUILT)

$(WEB_STAMP): $(WEB)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is missing; install Node.js 20.19+ with npm to build the web UI"; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

$(WEB_BUILT): $(WEB_STAMP) $(WEB_SOURCES)
	cd $(WEB) && npm run build

## test: run the whole suite (the UI's Vitest tests, then pytest: unit, integration against private PostgreSQL and Redis, browser end-to-end)
test: setup
	cd $(WEB) && npx vitest run
	@$(BIN)/python -m pytest -n auto --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 0; fi; exit $$rc

## test-fast: only the unit tests (pure logic, no servers): seconds, for the edit-test loop
test-fast: $(STAMP)
	@$(BIN)/python -m pytest tests/unit -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 0; fi; exit $$rc

## lint: ruff and mypy, both must be clean
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## protos: regenerate the gRPC stubs and type stubs from protos/**/*.proto
protos: setup
	$(BIN)/python protos/generate.py

## types: regenerate the OpenAPI document and the UI's TypeScript types from the models in haul/contract
types: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m gateway.openapi_export $(WEB)/openapi.json
	cd $(WEB) && npm run types

## migrate: bring the database at HAUL_DATABASE_URL (default: SQLite under var/) to the latest schema
migrate: setup
	$(BIN)/alembic upgrade head

## run: start haul on this machine (migrations, jobstore, gateway) and print the URL; Ctrl-C stops it all
run: setup
	@$(BIN)/python deploy/run_local.py

## bench-progress: drive the progress path with simulated workers and print throughput and latency figures
bench-progress: setup
	$(BIN)/python -m tests.bench.bench_progress

## bench-egress: measure the egress guard's relay per core and its slowdown of real downloads
bench-egress: setup
	$(BIN)/python -m tests.bench.bench_egress

## bench-flood: flood /worker with progress for made-up job ids; print gateway RSS and /health p50/p99
bench-flood: setup
	$(BIN)/python -m tests.bench.bench_worker_flood

## bench-collections: time jobstore's side of a 1,000-entry collection (report, pages of children, cancel, delete), then the gateway's RSS before and at its peak while it streams a collection's ZIP of 8 x 64 MiB
bench-collections: setup
	$(BIN)/python -m tests.bench.bench_collections
	$(BIN)/python -m tests.bench.bench_collection_zip

## bench-latency: where a job's time goes: each step from submit to completed (p50/p95 of 20 runs) for a file and a yt-dlp job beside aria2c and yt-dlp alone, a tiny job, small-job throughput, 64 MiB via yt-dlp with CPU, submit throughput, start/stop/idle memory
bench-latency: setup
	$(BIN)/python -m tests.bench.bench_latency

## test-deploy: build the image and run deploy/compose.yaml on a real Docker engine (installs docker.io as root; stand-in base images built offline from Debian packages): downloads, containers killed under them, /health, /metrics
test-deploy: setup
	$(BIN)/python tests/deploy/run_deploy.py

## clean: remove the virtualenv and local runtime data
clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
