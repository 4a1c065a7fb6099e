"""Gating: no stage consumes a table that fails its suite, and `glore validate` runs one on demand.

Every table is validated when it is written (tables.write_table) and again when a stage reads
it (tables.read_table), since a file at a path can come from anywhere. Generation tables are
checked a batch at a time (expectations.validate_file), so memory stays bounded; label tables,
whose rules span rows and the label stage's inputs, through their checks SQL (sql/checks/).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from pathlib import Path

import pyarrow as pa

from factory import GloreError
from factory.catalogue import checks_sql
from factory.duck import connect, parameters_of, sql_errors, stream_sql
from factory.expectations import BATCH_ROWS, validate, validate_batches


def needed_inputs(name: str) -> set[str]:
    """The label stage's inputs (rollouts, verifications) that the rules of table `name` read."""
    checks = checks_sql(name)
    return parameters_of(checks) if checks else set()


def require_inputs(name: str, inputs: Mapping[str, object]) -> None:
    missing = sorted(needed_inputs(name) - set(inputs))
    if missing:
        raise GloreError(f"checking {name} needs the {' and '.join(missing)} table(s) it was made from")


def check_table(name: str, table: pa.Table, *, inputs: Mapping[str, str | Path]) -> None:
    """Run the suite of `name` on `table`; label tables through sql/checks/<name>.sql, with the
    input tables it names (`inputs`: parameter name -> Parquet path)."""
    require_inputs(name, inputs)
    if checks_sql(name) is None:
        validate(name, table)
        return
    for path in inputs.values():
        if not Path(path).is_file():
            raise GloreError(f"{path}: input table not found")
    with closing(connect()) as connection:
        connection.register("candidate", table)
        check_candidate(connection, name, {key: str(path) for key, path in inputs.items()})


def check_candidate(connection, name: str, parameters: Mapping[str, object]) -> int:
    """Run the suite of label table `name` on what sql/checks/<name>.sql derives from the
    relation `candidate` of `connection` (and the inputs named in `parameters`), a batch at a
    time: the checks turn every rule across rows into a column, so no rule spans batches and
    memory stays bounded. Returns the rows checked."""
    checks = checks_sql(name)
    with sql_errors(checks):
        return validate_batches(name, stream_sql(connection, checks, parameters, BATCH_ROWS))

