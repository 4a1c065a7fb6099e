"""Synthetic `glore label` inputs from benchmarks/label.py's own builder: complete rollouts and
exhaustive verifications, the same for the same size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "label.py"


def synthetic_label_inputs(folder: Path, *, verifications: int = 600, k: int = 4) -> tuple[Path, Path]:
    """rollouts.parquet and verifications.parquet in `folder`, about `verifications` rows."""
    spec = importlib.util.spec_from_file_location("label_benchmark", BENCHMARK)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    folder.mkdir(parents=True, exist_ok=True)
    builder.make_inputs(folder, verifications=verifications, k=k)
    return folder / "rollouts.parquet", folder / "verifications.parquet"
