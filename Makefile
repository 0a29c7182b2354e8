# `make demo` and `make test` each create .venv if it is missing, install, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint clean

setup: $(STAMP)

# torch 2.13.0 goes in first: its CPU build is what the train extra (transformers serve,
# training, and their tests) uses, and installing it by exact version keeps pip from pulling
# the multi-GB CUDA build as someone's dependency.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
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

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
