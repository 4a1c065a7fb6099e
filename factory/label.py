"""`label` stage: the label tables and refinement pairs, made in DuckDB SQL from rollouts and
verifications (sql/<table>.sql) and validated before any of them is written."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from factory import GloreError
from factory.duck import SQL_DIR, connect, run_sql
from factory.params import LabelParams
from factory.tables import SCHEMAS, write_table

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
        _check_columns(name, path)
    connection = connect(memory_limit=params.memory_limit, threads=params.threads)
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
        summary = {}
        for name in OUTPUTS:
            path = staging / f"{name}.parquet"
            table = _query(connection, name, parameters)
            write_table(name, table, path, checks=derive_checks(connection, name, table, parameters))
            parameters[name] = str(path)
            summary[name] = _summarise(table)
        summary["sorm_labels"]["dropped_incomplete_rollouts"] = _dropped_rollouts(rollouts, staging)
        # Only now that every table passed its suite do they replace the previous outputs.
        for name in OUTPUTS:
            os.replace(staging / f"{name}.parquet", out_dir / f"{name}.parquet")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _check_columns(name: str, path: Path) -> None:
    """Fail early, naming the file, when an input lacks a column the SQL reads; only the schema
    is read, since a verifications file can hold millions of continuations."""
    if not path.is_file():
        raise GloreError(f"{path}: input table not found")
    try:
        present = set(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as error:
        raise GloreError(f"{path}: not a readable Parquet file ({error})") from None
    missing = [column for column in SCHEMAS[name].names if column not in present]
    if missing:
        raise GloreError(f"{path}: {name}: missing column(s) {', '.join(missing)}")


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


def _dropped_rollouts(rollouts: Path, staging: Path) -> int:
    """Rollouts with steps that sorm_labels left out: with `incomplete: drop`, the ones whose
    verification was incomplete (with `fail` there are none)."""
    steps = pq.read_table(rollouts, columns=["steps"]).column("steps")
    with_steps = pc.sum(pc.greater(pc.list_value_length(steps), 0)).as_py() or 0
    labelled = pc.count_distinct(pq.read_table(staging / "sorm_labels.parquet", columns=["rollout_id"])
                                 .column("rollout_id")).as_py()
    return with_steps - labelled
