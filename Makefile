# `make demo` and `make test` each create .venv if it is missing, install exactly the lock
# (uv.lock), then run. `make lock` refreshes the lock; run `make check-latest` before it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv is in the lock itself (the dev extra), so the version that bootstraps it is the one it keeps.
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
# torch's CPU build (PyPI's torch is a multi-GB CUDA build). pip fetches it wherever pip is set up
# to look (a local wheel folder, or PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu);
# the lock names it by path under .wheels/ and checks its hash.
TORCH_WHEEL := .wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
# Never a Python downloaded by uv: the venv's own.
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test lint lock check-latest check-lowest clean

setup: $(STAMP)

$(TORCH_WHEEL):
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --dest .wheels "torch==2.13.0+cpu"

$(STAMP): pyproject.toml uv.lock $(TORCH_WHEEL)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --extra all --extra dev
	touch $(STAMP)

demo: setup
	mkdir -p demo
	$(BIN)/longwrite write "Write a 1000-word article about the history of lighthouses." -o demo/lighthouses.md --json
	@echo "The document is in demo/lighthouses.md"

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The lock refreshed to the newest versions pyproject.toml allows (check-latest first).
lock: setup
	$(BIN)/uv lock --upgrade
	$(BIN)/uv lock --check

# A throwaway environment with the newest versions pyproject.toml allows (not the lock): the unit
# tests and a 150-word write on the embedded default, then what differs from the lock.
check-latest: setup
	$(BIN)/python tools/check_versions.py --newest

# The lowest version of each direct dependency: the floors in pyproject.toml must pass it.
check-lowest: setup
	$(BIN)/python tools/check_versions.py --lowest

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
