"""Great Expectations suites, one per table, run before any table is written or used.

The suites are written with Great Expectations in suites.py and stored in its own JSON form in
suites.json; they run in DuckDB (engine.py), on an Arrow table or on a Parquet file where it
lies, through the columns that sql/checks/<table>.sql derives for them. Importing Great
Expectations takes seconds, longer than validating millions of rows, so it stays out of the
stages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import closing
from functools import cache
from pathlib import Path

import pyarrow as pa

from factory import GloreError
from factory.catalogue import KEYS, checks_sql
from factory.duck import bound_parameters, connect, sql_errors, sql_text
from factory.expectations.engine import Rule, first_broken

SUITES_JSON = Path(__file__).with_name("suites.json")  # written by `python -m factory.expectations.suites`


class TableInvalid(GloreError):
    """A table broke an expectation of its suite."""


@cache
def suite(name: str) -> tuple[Rule, ...]:
    """The expectations of table `name`, in suite order."""
    stored = json.loads(SUITES_JSON.read_text(encoding="utf-8"))[name]
    return tuple(Rule.from_json(position, expectation) for position, expectation in enumerate(stored["expectations"]))


def check(connection, name: str, parameters: Mapping[str, object]) -> int:
    """Run the suite of table `name` on the relation `candidate` of `connection`, through
    sql/checks/<name>.sql where it has one (with the inputs it names in `parameters`); raise
    TableInvalid naming the first broken expectation and the keys of a few rows that broke it.
    Returns the rows checked."""
    checks = checks_sql(name)
    relation = sql_text(checks) if checks else "select * from candidate"
    with sql_errors(checks or name):
        rows, broken = first_broken(connection, relation, bound_parameters(checks, parameters) if checks else {},
                                    suite(name), KEYS[name])
    if broken:
        raise TableInvalid(broken.message(name))
    return rows


def validate(name: str, table: pa.Table, *, inputs: Mapping[str, str | Path] | None = None) -> None:
    """Run the suite of table `name` on `table` (`inputs`: parameter name -> Parquet path, for
    a label table's checks)."""
    with closing(connect()) as connection:
        connection.register("candidate", table)
        check(connection, name, {key: str(path) for key, path in (inputs or {}).items()})


def validate_file(name: str, path: str | Path, *, inputs: Mapping[str, str | Path] | None = None,
                  cursor=None, shown_as: str | Path | None = None) -> int:
    """Run the suite of table `name` on a Parquet file where it lies, in DuckDB's bounded
    memory; returns its rows. `cursor`: a DuckDB cursor to run on, closed when done, instead of
    a connection of its own. Errors name the file (`shown_as`: the path to name instead, for a
    file staged on its way there)."""
    with closing(cursor if cursor is not None else connect()) as cursor:
        try:
            with sql_errors(name):  # not a Parquet file
                cursor.register("candidate", cursor.read_parquet(str(path)))
            return check(cursor, name, {key: str(value) for key, value in (inputs or {}).items()})
        except GloreError as error:
            raise type(error)(f"{shown_as or path}: {error}") from None
