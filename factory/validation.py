"""Gating: no stage consumes a table that fails its suite, and `glore validate` runs one on demand.

Every table is validated when it is written (tables.write_table) and again when a stage reads
it (tables.read_table), since a file at a path can come from anywhere. The suites run in DuckDB
(factory.expectations), on a file where it lies; label tables through their checks SQL
(sql/checks/), whose rules span rows and read the label stage's inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from factory import GloreError
from factory.catalogue import checks_sql
from factory.duck import parameters_of
from factory.expectations import validate, validate_file


def needed_inputs(name: str) -> set[str]:
    """The label stage's inputs (rollouts, verifications) that the rules of table `name` read."""
    checks = checks_sql(name)
    return parameters_of(checks) if checks else set()


def require_inputs(name: str, inputs: Mapping[str, object]) -> dict[str, str]:
    """The inputs (parameter name -> Parquet path) that the rules of table `name` read, or a
    one-line error naming what is missing."""
    names = needed_inputs(name)
    missing = sorted(names - set(inputs))
    if missing:
        raise GloreError(f"checking {name} needs the {' and '.join(missing)} table(s) it was made from")
    needed = {key: str(inputs[key]) for key in names}
    for path in needed.values():
        if not Path(path).is_file():
            raise GloreError(f"{path}: input table not found")
    return needed


def check_table(name: str, table: pa.Table, *, inputs: Mapping[str, str | Path]) -> None:
    """Run the suite of `name` on `table`; label tables through sql/checks/<name>.sql, with the
    input tables it names (`inputs`: parameter name -> Parquet path)."""
    validate(name, table, inputs=require_inputs(name, inputs))


def check_file(name: str, path: str | Path, *, inputs: Mapping[str, str | Path]) -> int:
    """Run the suite of `name` on the Parquet file at `path` where it lies; returns its rows."""
    return validate_file(name, path, inputs=require_inputs(name, inputs))
