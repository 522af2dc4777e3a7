# Two entry points work on a fresh machine with only python3 and make:
#   make run   builds .venv if missing, runs every claim on the quick profile
#   make test  builds .venv if missing, runs the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= reports/quick
FULL   ?= reports/full
JOBS   ?= 2

.PHONY: run full test bench mutate lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: a looser request would pull a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m rankcheck run --profile quick --out $(OUT) --jobs $(JOBS) --exit-zero

full: $(STAMP)
	$(PY) -m rankcheck run --profile full --out $(FULL) --jobs $(JOBS) --exit-zero

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m tests.bench $(BENCH)

# slow (about 10 s per mutant), not in CI: a scratch worktree in .mutate/, resumable;
# CLAIMS=1 runs the unit tests' survivors against their family's quick claims
mutate: $(STAMP)
	$(PY) -m pip install -q 'cosmic-ray>=8.3'
	$(PY) -m tests.mutate $(if $(CLAIMS),--claims) $(MODULES)

lint: $(STAMP)
	$(PY) -m ruff check rankcheck theory numerics proofs_checks tests

clean:
	rm -rf $(VENV) reports .pytest_cache .hypothesis
	git worktree remove --force .mutate/tree 2>/dev/null || true
	rm -rf .mutate
