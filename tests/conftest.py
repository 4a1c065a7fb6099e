"""Shared fixtures: tiny params files so every test runs in seconds, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from tiny_params import TINY_PARAMS

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

@pytest.fixture
def tiny_params_file(tmp_path: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(TINY_PARAMS))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained tiny Llama with the task's own BPE tokenizer, built once per session."""
    from factory.base import build_scratch_model
    from factory.params_file import parse_params

    out = tmp_path_factory.mktemp("models") / "tiny"
    build_scratch_model(parse_params(TINY_PARAMS), out)
    return out
