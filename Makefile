# The two Quickstart commands. Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; override for a CUDA machine (e.g. TORCH_SPEC='torch').
TORCH_SPEC ?= torch==2.13.0
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1

.PHONY: run test install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, then run the whole pipeline on the embedded default (CPU, offline)
run: install
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

## test: install with the dev extras, then run the test suite
test: install-dev
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q
