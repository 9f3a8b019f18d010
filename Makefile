# The two commands: `make run` and `make test`. Everything else they need, they set up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	LINKZOOM_LOG_FORMAT=$${LINKZOOM_LOG_FORMAT:-text} $(BIN)/linkzoom run

# axe-core for the browser tests' accessibility checks; `npm ci` only when the lock file changed.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

test: $(VENV)/.test-installed $(AXE)
	scripts/install-test-deps.sh
	$(BIN)/ruff check linkzoom tests bench
	$(BIN)/mypy
	scripts/run-tests.sh

# The benchmarks are run by hand (bench/README.md); this installs what their --profile needs.
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.test-installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	@echo "Benchmarks: see bench/README.md, e.g. $(BIN)/python bench/compose.py --db both"

# Schemathesis against `linkzoom run` and its sandbox: ten thousand generated requests over
# every operation of /openapi.json (tests/e2e/fuzz_support.py; a smoke of it is in `make test`).
# FUZZ_DATABASE_URL=postgresql://… (an empty database) runs it on PostgreSQL instead of SQLite.
fuzz: $(VENV)/.test-installed
	$(BIN)/python -m tests.e2e.fuzz_support --cases $${FUZZ_CASES:-10000} \
		$${FUZZ_DATABASE_URL:+--database-url $$FUZZ_DATABASE_URL}

lint: $(VENV)/.test-installed
	$(BIN)/ruff check linkzoom tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
