# airmodel: set-up, tests and the offline quickstart.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-all demo lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Pin torch first: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q torch==2.13.0 -e ".[dev,ray,hf,flower]"
	touch $(STAMP)

setup: $(STAMP)

# test: tests/unit + tests/science without the slow ones; test-all: every test folder, slow included.
test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not slow"

test-all: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q tests

demo: $(STAMP)
	OMP_NUM_THREADS=2 $(BIN)/airmodel run configs/quickstart.yaml

lint: $(STAMP)
	$(BIN)/ruff check airmodel channels tests benchmarks

clean:
	rm -rf $(VENV) results .pytest_cache
