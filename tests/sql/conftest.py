"""The `inputs` fixture of the label SQL tests."""

from __future__ import annotations

import pytest
from sql_inputs import Inputs


@pytest.fixture
def inputs(tmp_path):
    """inputs(rollouts, verifications) -> Inputs in a fresh folder."""
    count = 0

    def make(rollouts: list[dict], verifications: list[dict] = ()) -> Inputs:
        nonlocal count
        count += 1
        folder = tmp_path / f"inputs{count}"
        folder.mkdir()
        return Inputs(folder, rollouts, verifications)

    return make
