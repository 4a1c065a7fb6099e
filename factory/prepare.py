"""`prepare` stage: the questions table (train and test splits) of the configured task."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from factory.params import Params
from factory.tables import write_table
from factory.tasks import get_task


def prepare(params: Params, *, out: Path) -> dict:
    task = get_task(params.task.name, params.task)
    table = pa.concat_tables([task.load("train"), task.load("test")])
    write_table("questions", table, out)
    splits = table.column("split").to_pylist()
    return {"train": splits.count("train"), "test": splits.count("test")}
