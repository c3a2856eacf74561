# gwo_assets: `make demo` runs the whole ingest on the embedded sandbox; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home
# `make sandbox` / `make ui` ports and folder (the README's walk-through uses the defaults).
SANDBOX_DIR      ?= .sandbox
DATASERVICE_PORT ?= 5055
S3_PORT          ?= 5056
UI_PORT          ?= 3000

.PHONY: install chromium demo test test-e2e bench sandbox ui clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

# The instance's databases are created once here: two runs starting at the same moment on a
# fresh SQLite instance would race to create its tables.
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@
	$(BIN)/dagster instance migrate > /dev/null

## demo: sandbox up, a manifest in its inbox, the sensor's dry run, gwo ingest --write --plan (its plan), the drift audit; full logs in .sandbox/logs
demo: install
	$(BIN)/python -m gwo_assets.sandbox.demo

## test: the fast test suite (unit, sandbox, in-process Dagster runs), on TEST_WORKERS processes
TEST_WORKERS ?= 4
test: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

## test-e2e: end-to-end runs (dagster CLI, web server + GraphQL, UI screenshots in headless
## Chromium written to test-artifacts/ui/) and the slow in-process runs (timed faults, PostgreSQL)
test-e2e: install chromium
	$(BIN)/pytest -q -m 'e2e or slow'

## chromium: Debian's Chromium for the e2e UI screenshots, installed with apt-get when missing
## and make runs as root (as CI does); otherwise it prints how, and the screenshot test fails
## saying so. `make test` never needs it. A Chromium elsewhere: GWO_CHROMIUM=/path/to/it.
GWO_CHROMIUM ?= /usr/bin/chromium
export GWO_CHROMIUM
chromium:
	@command -v $(GWO_CHROMIUM) > /dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	    echo "installing chromium (apt-get) for the e2e UI screenshots"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null; \
	  else \
	    echo "no Chromium at $(GWO_CHROMIUM), needed by the e2e UI screenshots:" \
	         "sudo apt-get install -y chromium"; \
	  fi; }

## bench: benchmarks (not part of make test); e.g. make bench BENCH_ARGS="--sizes 1000"
## BENCH_DATASERVICE_FILES: the DataService size axis, other studies' genomic files in the
## sandbox (0 = empty); e.g. make bench BENCH_DATASERVICE_FILES=0,1000000 BENCH_ARGS="--sizes 1000"
BENCH_ARGS ?=
BENCH_DATASERVICE_FILES ?= 0
bench: install
	$(BIN)/python -m gwo_assets_tests.bench --dataservice-files $(BENCH_DATASERVICE_FILES) $(BENCH_ARGS)

## sandbox: a long-running sandbox for the UI: writes .sandbox/run.yaml (a ready dry-run config
## for `make ui` or `dg launch`), prints its URLs and how to launch it; Ctrl-C stops it
sandbox: install
	$(BIN)/python -m gwo_assets.sandbox up --specimens 50 --seed 7 --workdir $(SANDBOX_DIR) \
		--dataservice-port $(DATASERVICE_PORT) --s3-port $(S3_PORT) \
		--run-config $(SANDBOX_DIR)/run.yaml

## ui: the Dagster UI on http://127.0.0.1:3000 (run `make sandbox` in another terminal first);
## the gwo_manifest_inbox sensor watches $(SANDBOX_DIR)/inbox (runs it requests read the sandbox's S3)
ui: install
	mkdir -p $(abspath $(SANDBOX_DIR))/inbox
	KF_DATASERVICE_URL=http://127.0.0.1:$(DATASERVICE_PORT) AWS_ACCESS_KEY_ID=testing \
		AWS_SECRET_ACCESS_KEY=testing AWS_ENDPOINT_URL_S3=http://127.0.0.1:$(S3_PORT) \
		GWO_MANIFEST_INBOX=$(abspath $(SANDBOX_DIR))/inbox \
		GWO_INBOX_REPORT_DIR=$(abspath $(SANDBOX_DIR))/reports \
		$(BIN)/dagster-webserver -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

clean:
	rm -rf .sandbox .dagster_home reports
