# segcheck — every target sets itself up (virtualenv in .venv, system packages when root).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint unit bench oracle sysdeps clean

$(STAMP): pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'setuptools>=77' wheel
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The optional C accelerators (setup.py) are rebuilt in place whenever a source changes;
# `pip install -e` builds them once, this keeps a working tree's .so files current.
NATIVE_SRC := $(wildcard segcheck/*/_*c.c)
NATIVE     := $(VENV)/.native
$(NATIVE): $(STAMP) $(NATIVE_SRC)
	$(BIN)/python setup.py -q build_ext --inplace
	touch $(NATIVE)

sysdeps:
	@bash scripts/sysdeps.sh

## demo: run segcheck on the bundled Riverbend Water example site
demo: $(NATIVE) sysdeps
	@bash scripts/demo.sh

## test: lint, type-check and run the whole test suite
test: lint unit

lint: $(NATIVE)
	$(BIN)/ruff check segcheck tests benchmarks
	$(BIN)/mypy

unit: $(NATIVE) sysdeps
	@bash scripts/sysdeps.sh chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider

## bench: performance benchmarks against peers measured in the same run (not tests)
bench: $(NATIVE)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/engine.py $(if $(ENGINE_SIZES),--sizes $(ENGINE_SIZES))
	$(BIN)/python benchmarks/capture.py --packets 1000000 --workers 2
	$(BIN)/python benchmarks/query.py
	$(BIN)/python benchmarks/site.py

## oracle: the long randomised oracle runs (kernel, aerleon); ORACLE_SCALE=N multiplies them
ORACLE_SCALE ?= 10
oracle: $(NATIVE) sysdeps
	@rm -f tests/artifacts/oracle-kernel.txt
	SEGCHECK_ORACLE_SCALE=$(ORACLE_SCALE) $(BIN)/python -m pytest -q -p no:cacheprovider -m "root or slow"
	@cat tests/artifacts/oracle-kernel.txt 2>/dev/null || true

clean:
	rm -rf $(VENV) build *.egg-info segcheck/*/*.so .pytest_cache .mypy_cache .ruff_cache out
