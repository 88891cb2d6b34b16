# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step
# of those two, callable on its own.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps record what was installed, so a second `make` does no work until pyproject changes.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PYTEST_WORKERS ?= 2

.PHONY: core-coverage run test venv services services-down cluster cluster-down chromium browsers webtest e2e lint format typecheck pytest bench clean help

help:
	@echo "make run    set up and start the whole platform on http://localhost:3000"
	@echo "make test   set up (venv, PostgreSQL, Redis, Kafka) and run every check and test"
	@echo "make bench  run the benchmarks and print their tables"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "metaverse needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(RUN_STAMP)

venv: $(TEST_STAMP)

run: $(RUN_STAMP)
	@echo "Starting metaverse: open http://localhost:$${PORT:-3000} (Ctrl-C stops it; data stays in $${METAVERSE_DATA_DIR:-./data})"
	@$(BIN)/metaverse serve

# nginx is installed here too: the cluster test puts it in front of real processes. Like
# the services, it may be missing locally (its test skips) but not in CI.
services:
	bash scripts/services.sh up
	bash scripts/nginx.sh || [ "$${CI:-}" != true ]

services-down:
	bash scripts/services.sh down

# The roles as separate processes behind nginx on the services above: two APIs, three
# gateways, a consumer. Prints the one URL to open; `make cluster-down` stops it.
cluster: $(RUN_STAMP)
	@bash scripts/cluster.sh up

cluster-down:
	bash scripts/cluster.sh down

chromium:
	bash scripts/chromium.sh

# What the browser (e2e) tests drive: Debian's Chromium, and coturn for the TURN test.
browsers:
	bash scripts/chromium.sh
	bash scripts/coturn.sh

# The browser client's pure modules (state reducer, protocol, token refresh) under Node's
# own test runner: no npm packages.
webtest:
	@command -v node >/dev/null || { echo "webtest needs Node.js 20 or newer"; exit 1; }
	node --test tests/web/

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

typecheck: $(TEST_STAMP)
	$(BIN)/mypy src tests benchmarks

pytest: $(TEST_STAMP)
	set -a; [ ! -f .services/env ] || . .services/env; set +a; \
		$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --ignore=tests/e2e $(PYTEST_ARGS)

# The browser tests run on their own: Playwright's sync API keeps an event loop running in
# its worker for as long as the browser is open, which the asyncio tests can't share.
# A module's tests stay on one worker (`loadfile`): the cluster module starts one cluster
# for all of its tests. The services' addresses are read as for pytest.
e2e: $(TEST_STAMP)
	set -a; [ ! -f .services/env ] || . .services/env; set +a; \
		$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile tests/e2e $(E2E_ARGS)

# The pure core must stay covered to every line and branch.
core-coverage: $(TEST_STAMP)
	$(BIN)/coverage run --branch --source=src/metaverse/core -m pytest -q -p no:cacheprovider tests/unit/core
	$(BIN)/coverage report --fail-under=100 --skip-covered

test: $(TEST_STAMP) services browsers lint typecheck webtest pytest e2e core-coverage

bench: $(TEST_STAMP) services
	set -a; [ ! -f .services/env ] || . .services/env; set +a; \
		$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
