# codarecon: `make run` serves the API on 127.0.0.1:8000 (SQLite under var/); `make test` runs every test.
PYTHON ?= python3
# `make test` reads each half's exit status through a pipe (pipefail).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Tests whose subject is the database; they run a second time on PostgreSQL when it is installed.
DB_TESTS := tests/api tests/db

# Let Python cache compiled modules (some machines set PYTHONDONTWRITEBYTECODE): every pytest run, and
# `make mutate` runs thousands, would otherwise compile the whole app and test suite again.
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help install client-tools lock run worker test test-sqlite test-postgres lint format openapi bench mutate clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv with exactly the versions in uv.lock (hash-checked)

# uv itself comes from the lock (pip, --require-hashes), then installs the lock and nothing else. --locked refuses
# a uv.lock that no longer matches pyproject.toml instead of quietly resolving something new.
$(STAMP): pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(PYTHON) scripts/uv_requirement.py uv.lock > $(VENV)/uv-requirement.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(VENV)/uv-requirement.txt
	UV_PYTHON_DOWNLOADS=never $(VENV)/bin/uv sync --quiet --locked --extra dev || \
	  { echo "make install: uv.lock does not match pyproject.toml; run 'make lock' and commit uv.lock" >&2; exit 1; }
	@touch $(STAMP)

# The OpenAPI client generator, in an environment of its own from tools/client/uv.lock (hash-checked): it pins an
# older httpx than the service's. tests/e2e/test_generated_client.py generates a client with it.
CLIENT_TOOLS := tools/client/.venv/.installed-stamp

client-tools: $(CLIENT_TOOLS) ## the generated-client test's tools (openapi-python-client), from tools/client/uv.lock

$(CLIENT_TOOLS): tools/client/pyproject.toml tools/client/uv.lock $(STAMP)
	cd tools/client && UV_PYTHON_DOWNLOADS=never $(abspath $(VENV))/bin/uv sync --quiet --locked --python $(PYTHON) || \
	  { echo "make client-tools: tools/client/uv.lock does not match its pyproject.toml; run 'make lock'" >&2; exit 1; }
	@touch $@

lock: install ## refresh uv.lock to the newest versions pyproject.toml allows (then run make test before committing)
	UV_PYTHON_DOWNLOADS=never $(VENV)/bin/uv lock --upgrade
	cd tools/client && UV_PYTHON_DOWNLOADS=never $(abspath $(VENV))/bin/uv lock --upgrade
	$(MAKE) --no-print-directory install client-tools

PORT ?= 8000

run: install ## serve the API on 127.0.0.1:$(PORT), 8000 unless PORT=... (schema migrated on start)
	$(VENV)/bin/codarecon serve --port $(PORT)

worker: install ## run background jobs in a process of their own (then serve with CODARECON_EMBEDDED_WORKERS=false)
	$(VENV)/bin/codarecon worker

SQLITE_RUN := $(PY) -m pytest
POSTGRES_RUN := scripts/with-postgres $(PY) -m pytest $(DB_TESTS)

# Both halves run whatever the first one gives; then both summaries, and a failure if either failed.
test: install client-tools ## run the whole suite on SQLite, then the database tests on PostgreSQL
	@set -o pipefail; sqlite=0; postgres=0; \
	$(SQLITE_RUN) 2>&1 | tee $(VENV)/test-sqlite.log || sqlite=$$?; \
	$(POSTGRES_RUN) 2>&1 | tee $(VENV)/test-postgres.log || postgres=$$?; \
	echo "make test: SQLite     (exit $$sqlite) $$(tail -n 1 $(VENV)/test-sqlite.log)"; \
	echo "make test: PostgreSQL (exit $$postgres) $$(tail -n 1 $(VENV)/test-postgres.log)"; \
	[ $$sqlite = 0 ] && [ $$postgres = 0 ]

test-sqlite: install client-tools
	$(SQLITE_RUN)

test-postgres: install
	$(POSTGRES_RUN)

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench

format: install
	$(VENV)/bin/ruff check --fix app tests bench
	$(VENV)/bin/ruff format app tests bench

openapi: install ## regenerate openapi/openapi.json from the app
	$(PY) -m app.openapi.export openapi/openapi.json

BENCHES := bench/bench_api.py bench/bench_small_statement.py bench/bench_ingest.py bench/bench_camt.py bench/bench_matching.py bench/bench_mixed.py bench/bench_processes.py

bench: install ## print throughput and memory figures, on SQLite and then on PostgreSQL (each on a fresh database)
	@echo "== no database: bench/bench_peppol.py"; $(PY) bench/bench_peppol.py
	@for b in $(BENCHES); do echo "== SQLite: $$b"; $(PY) $$b || exit 1; done
	@for b in $(BENCHES); do echo "== PostgreSQL: $$b"; \
	  scripts/with-postgres sh -c 'CODARECON_BENCH_DATABASE_URL=$$CODARECON_TEST_DATABASE_URL exec "$$0" "$$1"' $(PY) $$b || exit 1; done

mutate: install ## mutation testing of the money modules (mutmut; just under an hour; not part of `make test`)
	rm -rf mutants
	CODARECON_CODA_SAMPLES=$(abspath ../shared/coda-samples) $(VENV)/bin/mutmut run --max-children 2
	$(PY) scripts/mutation_report.py

clean:
	rm -rf $(VENV) tools/client/.venv var .pytest_cache mutants
