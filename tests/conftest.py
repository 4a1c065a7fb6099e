"""Shared fixtures: tiny params files so every test runs in seconds, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

TINY_PARAMS = {
    "task": {"name": "arith", "seed": 1, "n_train": 40, "n_test": 8, "n_dev": 5, "min_steps": 2, "max_steps": 3},
    "generator": {"backend": "hf", "batch_size": 16},
    "base": {"vocab_size": 320, "hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "num_heads": 2},
    "sft": {"train": {"max_steps": 3, "batch_size": 8, "lr": 1.0e-3, "min_lr": 1.0e-4}, "eval_questions": 4,
            "max_new_tokens": 24},
    "ei": {"max_rounds": 1, "max_questions": 4, "eval_questions": 3, "sampling": {"k": 2, "max_new_tokens": 24},
           "train": {"max_steps": 2, "batch_size": 8}},
    "rollouts": {"max_questions": 6, "sampling": {"k": 2, "max_new_tokens": 24}},
    "verify": {"sampling": {"k": 2, "max_new_tokens": 16}},
    "reward": {"train": {"max_steps": 2, "batch_size": 8}},
    "refiner": {"train": {"max_steps": 2, "batch_size": 8}},
}


@pytest.fixture
def tiny_params_file(tmp_path: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(TINY_PARAMS))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained tiny Llama with the task's own BPE tokenizer, built once per session."""
    from factory.base import build_scratch_model
    from factory.params import parse_params

    out = tmp_path_factory.mktemp("models") / "tiny"
    build_scratch_model(parse_params(TINY_PARAMS), out)
    return out
