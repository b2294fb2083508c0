# One entry point for newcomers, developers and CI. Every target builds what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: run demo test check lint types imports bench clean ui-assets

$(BIN)/itsm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The BPMN/DMN editors' JavaScript (bpmn-js, dmn-js; Node.js >= 20.12 with npm), built from the
# committed package-lock.json into ui/components/modeler/dist/ (not in git). Rebuilt only when
# the lock file, the build script or a source file is newer than the last build.
MODELER       := ui/components/modeler
MODELER_BUILT := $(MODELER)/dist/.built
MODELER_SRC   := $(MODELER)/frontend/package.json $(MODELER)/frontend/package-lock.json \
                 $(MODELER)/frontend/build.mjs $(wildcard $(MODELER)/frontend/src/*)

## ui-assets: build the browser diagram editors (npm ci && npm run build)
ui-assets: $(MODELER_BUILT)

NODE_OK := node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a == 20 && b >= 12) ? 0 : 1)'

$(MODELER_BUILT): $(MODELER_SRC)
	@if ! command -v npm >/dev/null || ! $(NODE_OK) 2>/dev/null; then \
	  echo "The diagram editors need Node.js >= 20.12 with npm (found: $$(node --version 2>/dev/null || echo none))." >&2; \
	  if [ "$${CI:-}" = "true" ]; then exit 1; fi; \
	  echo "Continuing without them (the designer pages say how to build them)." >&2; \
	else \
	  cd $(MODELER)/frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build \
	    && touch ../dist/.built; \
	fi

## run: set up, seed the demo database (SQLite), serve the workbench on :8501 and run every
## scheduled flow on a local Prefect server (:4200)
run: demo $(MODELER_BUILT)
	@echo "Workbench: http://127.0.0.1:8501  (log in as jan.nowak, anna.kowalska, ... password helpdesk-demo; Ctrl+C stops)"
	$(BIN)/itsm serve --port 8501

## demo: wipe and reseed the local demo database (var/itsm.db)
demo: $(BIN)/itsm
	$(BIN)/itsm db upgrade
	$(BIN)/itsm demo --reset

## test: the whole test suite (SQLite and PostgreSQL; PostgreSQL tests skip locally without it)
test: $(BIN)/itsm $(MODELER_BUILT)
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
