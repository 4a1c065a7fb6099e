"""`label` stage: the label tables and refinement pairs, made in DuckDB SQL from rollouts and
verifications (sql/<table>.sql) and validated before any of them is written."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from factory import GloreError
from factory.duck import SQL_DIR, connect, run_sql
from factory.expectations import validate_file
from factory.params import LabelParams
from factory.tables import require_columns, write_table

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
    come from an exhaustive search, the only one that measures the value of every step."""
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
            for name in OUTPUTS:
                path = staging / f"{name}.parquet"
                table = _query(connection, name, parameters)
                write_table(name, table, path, checks=derive_checks(connection, name, table, parameters))
                parameters[name] = str(path)
                summary[name] = _summarise(table)
            summary["sorm_labels"]["dropped_incomplete_rollouts"] = _dropped_rollouts(connection, parameters)
        # Only now that every table passed its suite do they replace the previous outputs.
        for name in OUTPUTS:
            os.replace(staging / f"{name}.parquet", out_dir / f"{name}.parquet")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _query(connection, name: str, parameters: dict[str, object]) -> pa.Table:
    import duckdb

    try:
        return run_sql(connection, name, parameters)
    except duckdb.Error as error:
        # error() in the SQL (an incomplete verification) reads as DuckDB's "Invalid Input Error: ..."
        message = str(error).splitlines()[0].removeprefix("Invalid Input Error: ")
        raise GloreError(f"{name}: {message}") from None


def derive_checks(connection, name: str, table: pa.Table, parameters: dict[str, object]) -> pa.Table | None:
    """The columns sql/checks/<name>.sql derives from `table` (and the inputs) for its suite;
    None where the suite reads the table itself (orm_steps)."""
    if not (SQL_DIR / "checks" / f"{name}.sql").is_file():
        return None
    connection.register("candidate", table)
    try:
        return _query(connection, f"checks/{name}", parameters)
    finally:
        connection.unregister("candidate")


def _summarise(table: pa.Table) -> dict:
    summary: dict[str, object] = {"rows": table.num_rows}
    if "label" in table.column_names:
        summary["positive_share"] = round(pc.mean(table.column("label")).as_py() or 0.0, 4)
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
