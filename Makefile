# airmodel: set-up, tests and the offline quickstart.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-all demo lint docs bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Pin torch first: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q torch==2.13.0 -e ".[dev,ray,hf,flower,docs]"
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

# docs: the site into site/ (mkdocs.yml); strict: a broken link or a missing API object fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) results site .pytest_cache
