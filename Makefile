# One entry point for people and CI. Every target creates the venv it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo serve test lint bench docs clean

$(BIN)/.installed-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

$(BIN)/.installed-bench: pyproject.toml $(BIN)/.installed-dev
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

$(BIN)/.installed-docs: pyproject.toml $(BIN)/.installed-dev
	$(BIN)/python -m pip install -q -e '.[dev,docs]'
	touch $@

demo: $(BIN)/.installed-dev
	$(BIN)/python -m bridge demo

serve: $(BIN)/.installed-dev
	$(BIN)/python -m bridge serve

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(BIN)/.installed-bench
	$(BIN)/python benchmarks/reactive.py
	$(BIN)/python benchmarks/entities.py
	$(BIN)/python benchmarks/runner.py
	$(BIN)/python benchmarks/engine.py

docs: $(BIN)/.installed-docs
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) site .mypy_cache .pytest_cache .ruff_cache
