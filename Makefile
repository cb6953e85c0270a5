# contactbook — everything a fresh clone needs is here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo walkthrough bench e2e lint typecheck contracts clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,web]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests features examples benchmarks
	$(BIN)/ruff format --check src tests features examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src
	$(BIN)/mypy -p examples.web -p benchmarks

contracts: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck contracts
	$(BIN)/pytest tests features

demo: $(STAMP)
	$(BIN)/python -m examples.web

walkthrough: $(STAMP)
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks --quick

e2e: $(STAMP)
	CONTACTBOOK_SAVE_SCREENSHOTS=1 $(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
