# The usual jobs. `make install` once, then `make lint test` before each push (.ci/run does the same).
PYTHON ?= python3

.PHONY: install test lint bench

install:  ## torch first, pinned: an unpinned torch pulls a CUDA build of several GB
	$(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e ".[test]"

test:
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

bench:  ## about 1.5 hours on 2 cores; reads ../shared/data (see benchmarks/README.md)
	$(PYTHON) benchmarks/run_benchmark.py --set published:max_seq_length=128 --work benchmarks/runs
