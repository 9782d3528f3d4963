# airmodel: set-up, tests and the offline quickstart.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where torch comes from. Empty: pip's configured index (here: the local wheel
# cache, CPU build). On a Linux laptop without a GPU set it to PyTorch's CPU index,
# `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu`, else PyPI's torch
# (Linux) is the CUDA build with ~20 NVIDIA packages (~3 GB). With a GPU: leave it
# empty (PyPI's CUDA build) or name a CUDA index (.../whl/cu128).
TORCH_INDEX ?=

.PHONY: setup test test-all demo lint docs results-page bench clean tutorials-scripts

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned, from TORCH_INDEX if set (see above); the extras then keep it.
	$(BIN)/pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
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

# results-page: docs/results.md and its plots from the results folders under docs/data/
# (docs/data/questions.yaml); results/quickstart, when `make demo` wrote it, replaces
# docs/data/quickstart first, so the page shows what HEAD prints.
results-page: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python docs/gen_results.py

# docs: the site into site/ (mkdocs.yml); strict: a broken link or anchor, a missing API
# object or a failing tutorial cell (mkdocs-jupyter executes docs/tutorials/*.py) fails.
docs: $(STAMP)
	OMP_NUM_THREADS=1 NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# tutorials-scripts: every tutorial and solution (docs/tutorials/0*.py) as a plain
# `python file.py` (`make docs` runs them as notebooks), two at a time, one torch thread
# each; the model cache is filled first. A failure prints that script's output and fails.
tutorials-scripts: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -c "from airmodel.quickstart import start_tutorial; start_tutorial()"
	ls docs/tutorials/0*.py | OMP_NUM_THREADS=1 MPLBACKEND=Agg xargs -P 2 -I{} sh -c \
	  'log=$$(mktemp); if $(BIN)/python {} > $$log 2>&1; then echo "ok   {}"; rm -f $$log; \
	   else cat $$log; echo "FAILED: python {} (output above)" >&2; rm -f $$log; exit 1; fi'

clean:
	rm -rf $(VENV) results site .pytest_cache .cache/mkdocs-jupyter
