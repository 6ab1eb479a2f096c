# Two commands do all set-up on a fresh machine:
#   make demo   -> virtualenv + install + the main job on the shipped example (writes the HTML reports)
#   make test   -> virtualenv + install + the test suite (what CI runs)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck validate validation sample clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m recsys_causal.demo

test: $(STAMP)
	bash scripts/ensure-chromium.sh
	$(BIN)/ruff check recsys_causal tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not slow"

validate: $(STAMP)
	$(BIN)/python -m pytest -m slow

sample: $(STAMP)
	$(BIN)/python -m recsys_causal.simulate.sample decision_logs
	$(BIN)/python -m recsys_causal.simulate.visits decision_logs

lint: $(STAMP)
	$(BIN)/ruff check recsys_causal tests benchmarks

# the public API's type check (the file list is [tool.mypy] files in pyproject.toml); also part of `make test`
typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache

validation: $(STAMP)
	$(BIN)/python validation/run_all.py --runs 1000
