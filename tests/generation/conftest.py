"""Fixtures of the generation tests: the memorised tiny model, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from memorised_model import build_memorised_model


@pytest.fixture(scope="session")
def memorised_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("memorised")
    build_memorised_model(out)
    return out
