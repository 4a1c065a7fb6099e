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

from factory import GloreError
from factory.catalogue import LABEL_INTERMEDIATES, LABEL_TABLES
from factory.duck import connect, copy_intermediates, sql_errors, stream_sql
from factory.expectations import check, validate_file
from factory.params import LabelParams
from factory.tables import ROW_GROUP_ROWS, require_columns, write_batches


def label(
    params: LabelParams, *, rollouts: Path, verifications: Path, out_dir: Path, value_pairs: bool
) -> dict:
    """Write every table of LABEL_TABLES into `out_dir`, all or none. `value_pairs`: the verifications
    come from an exhaustive search, the only one that measures the value of every step.

    Each table streams from DuckDB into a staged Parquet file, a row group at a time, and its
    suite runs in DuckDB on that file, so memory stays near DuckDB's `memory_limit` whatever the
    inputs' size. The suites run one after the other with the SQL, not in a thread beside it:
    DuckDB's threads already keep the cores busy, and two queries at once share its memory (at
    10M verifications a suite thread saved no time and cost 1 GB more peak memory)."""
    inputs = {"rollouts": rollouts, "verifications": verifications}
    for name, path in inputs.items():
        require_columns(name, path)
    parameters = sql_parameters(params, rollouts=rollouts, verifications=verifications, value_pairs=value_pairs)
    made = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_dead_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".label.{os.getpid()}.", dir=out_dir))
    try:
        # DuckDB spills beside the outputs (a data disk, not a small /tmp), cleaned up with them
        with closing(connect(memory_limit=params.memory_limit, threads=params.threads,
                             temp_directory=staging / ".spill")) as connection:
            # inputs can come from any source: nothing is written unless they pass their suites
            for name, path in inputs.items():
                validate_file(name, path, cursor=connection.cursor())
            _check_placement(connection.cursor(), parameters)
            copy_intermediates(connection, LABEL_INTERMEDIATES, parameters, staging)
            for name in tqdm(LABEL_TABLES, desc="label", unit="table"):
                path = staging / f"{name}.parquet"
                with sql_errors(name):
                    write_batches(name, stream_sql(connection, name, parameters, ROW_GROUP_ROWS), path)
                parameters[name] = str(path)
                _check(connection.cursor(), name, parameters)
            summary = {name: _summarise(staging / f"{name}.parquet") for name in LABEL_TABLES}
            incomplete, without_steps = _dropped_rollouts(connection, parameters)
            summary["sorm_labels"]["dropped_incomplete_rollouts"] = incomplete
            summary["orm_steps"]["dropped_rollouts_without_steps"] = without_steps
        # Only now that every table passed its suite do they replace the previous outputs.
        for name in LABEL_TABLES:
            os.replace(staging / f"{name}.parquet", out_dir / f"{name}.parquet")
    except BaseException:
        # a failed run leaves no trace, not even the folders it made for its outputs
        shutil.rmtree(made[-1] if made else staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def sql_parameters(params: LabelParams, *, rollouts: Path, verifications: Path, value_pairs: bool) -> dict[str, object]:
    """What the label SQL files are given, as `$name` parameters (each binds those it names)."""
    return {
        "rollouts": str(rollouts),
        "verifications": str(verifications),
        "seed": params.seed,
        "incomplete": params.incomplete,
        "max_targets_per_draft": params.max_targets_per_draft,
        "exhaustive": value_pairs,
    }


def _check(cursor, name: str, parameters: dict[str, object]) -> None:
    """The suite of the table `name` just staged at parameters[name] (errors name the table,
    not the staged file)."""
    with closing(cursor):
        cursor.register("candidate", cursor.read_parquet(str(parameters[name])))
        check(cursor, name, parameters)


def _summarise(path: Path) -> dict:
    summary: dict[str, object] = {"rows": pq.ParquetFile(path).metadata.num_rows}
    if "label" in pq.read_schema(path).names:
        labels = pq.read_table(path, columns=["label"]).column("label")
        summary["positive_share"] = round(pc.mean(labels).as_py() or 0.0, 4)
    return summary


def _dropped_rollouts(connection, parameters: dict[str, object]) -> tuple[int, int]:
    """(rollouts with steps that sorm_labels left out: with `incomplete: drop`, the ones whose
    verification was incomplete, with `fail` none; rollouts without steps, which no table can
    hold). Counted in DuckDB, one pass over the rollouts, so memory does not grow with them."""
    return connection.execute(
        "select count(*) filter (where len(steps) > 0)"
        " - (select count(distinct rollout_id) from read_parquet($sorm_labels)),"
        " count(*) filter (where len(steps) = 0)"
        " from read_parquet($rollouts)",
        {"rollouts": parameters["rollouts"], "sorm_labels": parameters["sorm_labels"]},
    ).fetchone()


def _check_placement(cursor, parameters: dict[str, object]) -> None:
    """Every verification belongs to a rollout and to one of its steps before the last (P_L is
    the whole solution, judged by its own answer): the label rules would pass over any other."""
    with closing(cursor), sql_errors("verifications"):
        unknown, past_last, example = cursor.execute(
            """
            with rollouts as (
                -- the lengths before the join, which then carries numbers, not step lists
                select rollout_id, len(steps) as n_steps
                from read_parquet($rollouts)
            )
            select
                count(*) filter (where rollouts.rollout_id is null),
                count(*) filter (where verifications.step >= rollouts.n_steps),
                min(verifications.rollout_id || ' step ' || verifications.step)
                    filter (where rollouts.rollout_id is null or verifications.step >= rollouts.n_steps)
            from read_parquet($verifications) as verifications
            left join rollouts using (rollout_id)
            """,
            {"verifications": parameters["verifications"], "rollouts": parameters["rollouts"]},
        ).fetchone()
    if unknown or past_last:
        raise GloreError(f"verifications: {unknown} row(s) of rollouts not in the rollouts table and {past_last} "
                         f"at or past their rollout's last step (e.g. {example})")


def _remove_dead_staging(out_dir: Path) -> None:
    """Staging folders (`.label.<pid>.*`) of runs that were killed: a live run's stay."""
    for folder in out_dir.glob(".label.*"):
        pid = folder.name.split(".")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
