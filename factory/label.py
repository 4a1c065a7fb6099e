"""`label` stage: the label tables and refinement pairs, made in DuckDB SQL from rollouts and
verifications (sql/<table>.sql) and validated before any of them is written."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import closing
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from factory.duck import connect, sql_errors, stream_sql
from factory.expectations import BATCH_ROWS, validate_file
from factory.params import LabelParams
from factory.tables import require_columns, write_batches
from factory.validation import check_candidate

# In order: a file may read the tables made before it (sorm_steps and refine_local read sorm_labels).
OUTPUTS = (
    "sorm_labels",
    "sorm_steps",
    "orm_steps",
    "orm_balanced_steps",
    "refine_global",
    "refine_local",
    "refine_value",
)


def label(
    params: LabelParams, *, rollouts: Path, verifications: Path, out_dir: Path, value_pairs: bool
) -> dict:
    """Write every table of OUTPUTS into `out_dir`, all or none. `value_pairs`: the verifications
    come from an exhaustive search, the only one that measures the value of every step.

    Each table streams from DuckDB into a staged Parquet file, and its suite runs on that file
    a batch at a time, so memory stays near DuckDB's `memory_limit` whatever the inputs' size."""
    for name, path in (("rollouts", rollouts), ("verifications", verifications)):
        require_columns(name, path)
        # inputs can come from any source: none is used unless it passes its suite
        validate_file(name, path, memory_limit=params.memory_limit)
    parameters: dict[str, object] = {
        "rollouts": str(rollouts),
        "verifications": str(verifications),
        "seed": params.seed,
        "incomplete": params.incomplete,
        "max_targets_per_draft": params.max_targets_per_draft,
        "exhaustive": value_pairs,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".label.", dir=out_dir))
    try:
        # DuckDB spills beside the outputs (a data disk, not a small /tmp), cleaned up with them
        with closing(connect(memory_limit=params.memory_limit, threads=params.threads,
                             temp_directory=staging / ".spill")) as connection:
            summary = {}
            for name in tqdm(OUTPUTS, desc="label", unit="table"):
                path = staging / f"{name}.parquet"
                with sql_errors(name):
                    write_batches(name, stream_sql(connection, name, parameters, BATCH_ROWS), path)
                connection.read_parquet(str(path)).create_view("candidate", replace=True)
                check_candidate(connection, name, parameters)
                parameters[name] = str(path)
                summary[name] = _summarise(path)
            summary["sorm_labels"]["dropped_incomplete_rollouts"] = _dropped_rollouts(connection, parameters)
        # Only now that every table passed its suite do they replace the previous outputs.
        for name in OUTPUTS:
            os.replace(staging / f"{name}.parquet", out_dir / f"{name}.parquet")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _summarise(path: Path) -> dict:
    summary: dict[str, object] = {"rows": pq.ParquetFile(path).metadata.num_rows}
    if "label" in pq.read_schema(path).names:
        labels = pq.read_table(path, columns=["label"]).column("label")
        summary["positive_share"] = round(pc.mean(labels).as_py() or 0.0, 4)
    return summary


def _dropped_rollouts(connection, parameters: dict[str, object]) -> int:
    """Rollouts with steps that sorm_labels left out: with `incomplete: drop`, the ones whose
    verification was incomplete (with `fail` there are none). Counted in DuckDB, so memory
    does not grow with the rollouts."""
    return connection.execute(
        "select (select count(*) from read_parquet($rollouts) where len(steps) > 0)"
        " - (select count(distinct rollout_id) from read_parquet($sorm_labels))",
        {"rollouts": parameters["rollouts"], "sorm_labels": parameters["sorm_labels"]},
    ).fetchone()[0]
