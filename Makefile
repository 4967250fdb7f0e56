# One entry point for people and CI. Every target creates the venv it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo serve test test-compiled compiled lint bench docs clean

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
	$(MAKE) test-compiled

# An optional build of molecules/core compiled with mypyc (mypy's compiler, a dev
# dependency). It goes to a copy of the package in $(COMPILED), never next to the sources,
# so a checkout always imports pure Python; PYTHONPATH=$(COMPILED) selects the build.
# atom.py stays Python (atoms are weakly referenced and made with object.__new__), and so
# do the modules off the hot path. benchmarks/reactive.py looks for the build there too.
COMPILED := build/compiled
CORE_COMPILED := node internals mounting delivery store
compiled: $(BIN)/.installed-dev
	rm -rf $(COMPILED)
	mkdir -p $(COMPILED)
	cp -R molecules $(COMPILED)/molecules
	find $(COMPILED) -name __pycache__ -prune -exec rm -rf {} +
	cd $(COMPILED) && $(abspath $(BIN))/mypyc $(CORE_COMPILED:%=molecules/core/%.py) >mypyc.log \
		|| { tail -n 40 mypyc.log; exit 1; }

# The core's tests against the compiled build (the same tests as the pure-Python run).
# The build goes first on sys.path, and the checkout (for `tests`) after it.
test-compiled: compiled
	MOLECULES_COMPILED=$(COMPILED) $(BIN)/python -m pytest tests/molecules/core \
		-o pythonpath=$(COMPILED) --import-mode=append -p no:cacheprovider

bench: $(BIN)/.installed-bench
	$(BIN)/python benchmarks/reactive.py
	$(BIN)/python benchmarks/entities.py
	$(BIN)/python benchmarks/runner.py
	$(BIN)/python benchmarks/engine.py

docs: $(BIN)/.installed-docs
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) site .mypy_cache .pytest_cache .ruff_cache $(COMPILED)
