"""`prepare` stage: the questions table (train, dev and test splits) of the configured task."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from factory import GloreError
from factory.params import Params
from factory.tables import write_table
from factory.tasks import get_task


def hold_out_dev(train: pa.Table, n_dev: int) -> pa.Table:
    """Relabel the last `n_dev` train questions as the `dev` split."""
    if n_dev >= train.num_rows:
        raise GloreError(f"task.n_dev {n_dev} leaves no train questions (train has {train.num_rows})")
    is_dev = pa.array([index >= train.num_rows - n_dev for index in range(train.num_rows)])
    return train.set_column(train.schema.get_field_index("split"), "split", pc.if_else(is_dev, "dev", train["split"]))


def prepare(params: Params, *, out: Path) -> dict:
    task = get_task(params.task.name, params.task)
    table = pa.concat_tables([hold_out_dev(task.load("train"), params.task.n_dev), task.load("test")])
    write_table("questions", table, out)
    splits = table.column("split").to_pylist()
    return {**{split: splits.count(split) for split in ("train", "dev", "test")}, "dropped": task.dropped_rows()}
