"""Great Expectations suites, one per table, run before any table is written or used."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import great_expectations.expectations as gxe
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from factory import GloreError
from factory.catalogue import KEYS, TABLES, conform
from factory.duck import connect, sql_errors
from factory.expectations import suites

EXAMPLES = 3  # failing rows named in an error
BATCH_ROWS = 1_000_000  # rows validated at once: a few columns of numbers, tens of MB
ROW = "__row__"  # each row's position, sent along so that failing rows can be found by key


class TableInvalid(GloreError):
    """A table broke an expectation of its suite."""


@cache
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("factory")
    return gx, context, source


@dataclass
class Broken:
    """An expectation that rows of a table broke."""

    position: int  # in the suite: the first broken one is reported
    rule: str
    description: str | None
    columns: str
    count: int  # rows that broke it; for a rule on the whole table (the row count) what it saw
    sample: list  # a few of the values that broke it
    failing: list[dict]  # the keys of a few rows that broke it

    def message(self, name: str) -> str:
        """One line: the table, the expectation, how many rows broke it, and a few of them by key."""
        described = f" ({self.description})" if self.description else ""
        sample = [_plain(value) for value in self.sample if not _missing(value)]  # nulls say nothing more
        values = f" (e.g. {sample})" if sample else ""
        keys: list[str] = []
        for row in self.failing:
            shown = ", ".join(f"{key}={_plain(value)!r}" for key, value in row.items())
            shown = f"({shown})" if len(row) > 1 else shown
            if shown not in keys:  # a duplicated key comes once per row that has it
                keys.append(shown)
        where = f"; failing keys: {'; '.join(keys[:EXAMPLES])}" if keys else ""
        columns = self.columns or "the table"
        return f"table {name} failed {self.rule}{described} on {columns}: {self.count} row(s){values}{where}"


def validate(name: str, table: pa.Table, *, one_batch: bool = False) -> None:
    """Run the suite of table `name`; raise TableInvalid naming the first broken expectation
    and the keys (KEYS[name]) of a few rows that broke it.

    `one_batch`: `table` is a batch of a larger file, whose unique keys are checked over the
    whole file apart (validate_across), so the suite's uniqueness rules are left out here."""
    broken = _broken(name, table, one_batch=one_batch)
    if broken:
        raise TableInvalid(broken[0].message(name))


def validate_batches(name: str, reader: pa.RecordBatchReader) -> int:
    """Run the suite of `name` on the rows of `reader`, BATCH_ROWS at a time (no rows: on an
    empty table); returns the rows seen. A broken rule is reported with its rows counted over
    all batches. Only for suites whose rules all hold row by row, like those of the label
    tables, which read the columns that sql/checks/ derives across rows."""
    broken: dict[int, Broken] = {}
    rows = 0
    for table in _batches_of(reader, BATCH_ROWS):
        for found in _broken(name, table):
            if found.position in broken:
                broken[found.position].count += found.count
            broken.setdefault(found.position, found)
        rows += table.num_rows
    if not rows:
        broken = {found.position: found for found in _broken(name, reader.schema.empty_table())}
    if broken:
        raise TableInvalid(broken[min(broken)].message(name))
    return rows


def _batches_of(reader: pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """The rows of `reader` as tables of `rows` rows or a few more (DuckDB streams small
    batches, and each run of a suite costs a fixed overhead)."""
    pending: list[pa.RecordBatch] = []
    for batch in reader:
        pending.append(batch)
        if sum(batch.num_rows for batch in pending) >= rows:
            yield pa.Table.from_batches(pending, reader.schema)
            pending = []
    if pending:
        yield pa.Table.from_batches(pending, reader.schema)


def _broken(name: str, table: pa.Table, *, one_batch: bool = False) -> list[Broken]:
    """The expectations of the suite of `name` that `table` breaks, in suite order."""
    gx, context, source = _context()
    expectations = [expectation for expectation in suites.SUITES[name]()
                    if not (one_batch and isinstance(expectation, suites.UNIQUENESS))]
    frame = _frame(table, expectations, suites.derived_columns(name, table))
    asset_name = f"{name}_{len(source.assets)}"
    batch_definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("all")
    suite = gx.ExpectationSuite(name=asset_name, expectations=expectations)
    # SUMMARY keeps a few failing rows only, with their positions beside the failing values
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES,
                     "unexpected_index_column_names": [ROW]}
    try:
        result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite, result_format=result_format
        )
    finally:
        source.delete_asset(asset_name)
    keys = [column for column in KEYS.get(name, ()) if column in table.column_names]
    broken = []
    for position, outcome in enumerate(result.results):
        if outcome.success:
            continue
        config = outcome.expectation_config
        details = outcome.result or {}
        rows = [int(row[ROW]) for row in details.get("partial_unexpected_index_list") or []]
        broken.append(Broken(
            position=position,
            rule=config.type,
            description=config.description,
            columns=_columns_named(config.type, config.kwargs),
            count=details.get("unexpected_count", details.get("observed_value")),
            sample=details.get("partial_unexpected_list", [])[:EXAMPLES],
            failing=table.select(keys).take(pa.array(rows, pa.int64())).to_pylist() if keys else [],
        ))
    return broken


def _columns_named(rule: str, kwargs: dict) -> str:
    if "column_A" in kwargs:
        relation = (">=" if kwargs.get("or_equal") else ">") if "greater_than" in rule else "="
        return f"{kwargs['column_A']} {relation} {kwargs['column_B']}"
    return kwargs.get("column") or ", ".join(kwargs.get("column_list") or [])


def _columns_of(expectation) -> list[str]:
    kwargs = expectation.configuration.kwargs
    named = [kwargs.get("column"), *(kwargs.get("column_list") or []), kwargs.get("column_A"),
             kwargs.get("column_B")]
    return [column for column in named if column]


def _frame(table: pa.Table, expectations: list, derived: dict[str, pa.Array]):
    """The pandas frame the suite reads: only the columns it names, and a string or list column
    that it only asks for nulls as its length (null where it is null). Great Expectations
    hashes the whole frame to name the batch; strings and lists make that the slowest part."""
    available = {**{column: table.column(column) for column in table.column_names}, **derived}
    named: dict[str, bool] = {}  # column -> asked only for nulls
    for expectation in expectations:
        for column in _columns_of(expectation):
            null_check = isinstance(expectation, gxe.ExpectColumnValuesToNotBeNull)
            named[column] = named.get(column, True) and null_check
    data = {}
    for column, only_nulls in named.items():
        values = available[column]
        if only_nulls and pa.types.is_list(values.type):
            values = pc.list_value_length(values)
        elif only_nulls and pa.types.is_string(values.type):
            values = pc.utf8_length(values)
        if pa.types.is_integer(values.type):
            # Great Expectations compares int64 and float64 columns vectorised, other widths
            # one Python call per value (30x slower)
            values = pc.cast(values, pa.int64())
        data[column] = values
    data[ROW] = np.arange(table.num_rows)
    return pa.table(data).to_pandas()


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> object:
    """numpy scalars as Python values, so messages read `step=2`, not `step=np.int64(2)`."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict)) else value


def validate_file(name: str, path: str | Path, *, memory_limit: str = "2GB") -> int:
    """Run the suite of table `name` on a Parquet file in bounded memory; returns its rows.

    Only for tables whose rules across rows are key uniqueness and the row count
    (a `batched` table of the catalogue): the suite runs on one batch of rows at a time, then validate_across
    checks what spans batches."""
    _require_batched(name)
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            validate(name, conform(name, pa.Table.from_batches([batch])), one_batch=True)
        return validate_across(name, path, memory_limit=memory_limit)
    except GloreError as error:
        raise type(error)(f"{path}: {error}") from None


def validate_across(name: str, path: str | Path, *, memory_limit: str = "2GB") -> int:
    """The rules of a batched table's suite that span batches (or the shards of a generation stage):
    unique keys over the whole file, checked in DuckDB (which spills to disk past
    `memory_limit`), and the suite itself where the file has no rows (the row count)."""
    _require_batched(name)
    parquet = pq.ParquetFile(path)
    if parquet.metadata.num_rows == 0:
        validate(name, conform(name, parquet.schema_arrow.empty_table()))
    _unique_across_batches(name, Path(path), memory_limit=memory_limit)
    return parquet.metadata.num_rows


def _require_batched(name: str) -> None:
    if not TABLES[name].batched:
        raise ValueError(f"{name}: its suite has rules across rows; validate the whole table")


def _unique_across_batches(name: str, path: Path, *, memory_limit: str) -> None:
    connection = connect(memory_limit=memory_limit)
    for expectation in suites.SUITES[name]():
        if isinstance(expectation, gxe.ExpectCompoundColumnsToBeUnique):
            columns = list(expectation.column_list)
        elif isinstance(expectation, gxe.ExpectColumnValuesToBeUnique):
            columns = [expectation.column]
        else:
            continue
        # Column names come from the suite, never from data; values are bound parameters.
        listed = ", ".join(f'"{column}"' for column in columns)
        with sql_errors(f"{name} keys"):  # e.g. a memory_limit too small for the table
            duplicated = connection.execute(
                f"select {listed}, sum(n) over () as duplicated_rows from "
                f"(select {listed}, count(*) as n from read_parquet($path) group by all having count(*) > 1) "
                "order by all limit $examples",
                {"path": str(path), "examples": EXAMPLES},
            ).fetchall()
        if duplicated:
            failing = [dict(zip(columns, row[: len(columns)])) for row in duplicated]
            broken = Broken(position=0, rule=expectation.expectation_type, description=None,
                            columns=", ".join(columns), count=duplicated[0][-1], sample=[], failing=failing)
            raise TableInvalid(broken.message(name))
