"""`label` stage: label tables made in DuckDB SQL from rollouts (and, later, verifications)."""

from __future__ import annotations

from pathlib import Path

from factory.duck import connect, run_sql
from factory.params import LabelParams
from factory.tables import read_table, write_table


def label(params: LabelParams, *, rollouts: Path, out_dir: Path) -> dict:
    read_table("rollouts", rollouts)  # fail early, with the file's name, on a bad input
    connection = connect(memory_limit=params.memory_limit, threads=params.threads)
    summary = {}
    for name in ("orm_steps",):
        table = run_sql(connection, name, {"rollouts": str(rollouts)})
        write_table(name, table, out_dir / f"{name}.parquet")
        labels = table.column("label").to_pylist()
        summary[name] = {"rows": len(labels), "positive_share": round(sum(labels) / max(len(labels), 1), 4)}
    return summary
