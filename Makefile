# nmt-rules: `make run` and `make test` set up everything they need in .venv.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# durable-rules does not import on Python 3.13+: pick the first 3.11/3.12 interpreter found.
PYTHON ?= $(shell for p in python3.12 python3.11 python3 python; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null; then \
	echo $$p; break; fi; done)
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP := $(VENV)/.installed
EXAMPLE ?= examples/child-school.yaml

.PHONY: run test lint typecheck unit fuzz check bench reports clean

$(STAMP): pyproject.toml $(PLUGINS)
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))'; then \
		echo "error: nmt-rules needs Python 3.11 or 3.12 (durable-rules does not import on 3.13+)." >&2; \
		echo "Install one, or run: make PYTHON=/path/to/python3.12 ..." >&2; exit 2; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(addprefix -e ,$(dir $(PLUGINS)))
	@touch $@

run: $(STAMP)
	$(BIN)/nmt-rules recommend $(EXAMPLE)

PY_DIRS := $(wildcard src tests bench plugins examples)

lint: $(STAMP)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

# The loaders' fuzz tests with many more examples than `make test` runs, seeded afresh each
# time (FUZZ_EXAMPLES per test; a failure prints how to reproduce it).
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	NMT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/test_fuzz.py

# What a program designer runs after editing YAML: validate, lint, golden cases, coverage.
check: $(STAMP)
	$(BIN)/nmt-rules check rulesets plugins
	$(BIN)/nmt-rules test --coverage --min-coverage 100

# Refresh examples/reports/ (HTML, text and a screenshot per map and audience) with chromium.
reports: $(STAMP)
	NMT_RULES_WRITE_REPORTS=1 $(BIN)/pytest -q tests/test_browser.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
