# One entry point for newcomers, developers and CI. Every target builds what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: run demo test check lint types imports bench clean

$(BIN)/itsm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## run: set up, seed the demo database (SQLite), serve the workbench on :8501 and run every
## scheduled flow on a local Prefect server (:4200)
run: demo
	@echo "Workbench: http://127.0.0.1:8501  (log in as jan.nowak, anna.kowalska, ... password helpdesk-demo; Ctrl+C stops)"
	$(BIN)/itsm serve --port 8501

## demo: wipe and reseed the local demo database (var/itsm.db)
demo: $(BIN)/itsm
	$(BIN)/itsm db upgrade
	$(BIN)/itsm demo --reset

## test: the whole test suite (SQLite and PostgreSQL; PostgreSQL tests skip locally without it)
test: $(BIN)/itsm
	$(BIN)/python -m pytest -n 2 -q

lint: $(BIN)/itsm
	$(BIN)/ruff check itsm tasks tests bench workflows ui
	$(BIN)/ruff format --check itsm tasks tests bench workflows ui

types: $(BIN)/itsm
	$(BIN)/mypy

imports: $(BIN)/itsm
	$(BIN)/lint-imports

## check: what CI runs — lint, types, import rules, tests
check: lint types imports test

## bench: throughput and latency benchmarks (on demand, not part of the tests)
bench: $(BIN)/itsm
	$(BIN)/python bench/lifecycle_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
