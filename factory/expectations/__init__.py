"""Great Expectations suites, one per table, run before any table is written or used."""

from __future__ import annotations

import math
import os
from functools import cache
from pathlib import Path

import pyarrow as pa

from factory import GloreError
from factory.expectations import suites
from factory.tables import KEYS

EXAMPLES = 3  # failing rows named in an error
BATCH_ROWS = 100_000  # rows validated at once by validate_file


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


def validate(name: str, table: pa.Table) -> None:
    """Run the suite of table `name`; raise TableInvalid naming the first broken expectation
    and the keys (KEYS[name]) of a few rows that broke it."""
    import pyarrow.compute as pc

    gx, context, source = _context()
    frame = suites.with_derived_columns(name, table.to_pandas())
    # Great Expectations hashes the frame to name the batch, and lists are unhashable: it would
    # pickle the whole frame instead (90% of the time on a verifications batch). The suites only
    # ask list columns for nulls, so each list's length (null where the list is) stands in.
    for field in table.schema:
        if pa.types.is_list(field.type) and field.name in frame.columns:
            frame[field.name] = pc.list_value_length(table.column(field.name)).to_numpy(zero_copy_only=False)
    keys = [column for column in KEYS.get(name, ()) if column in frame.columns]
    asset_name = f"{name}_{len(source.assets)}"
    batch_definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("all")
    suite = gx.ExpectationSuite(name=asset_name, expectations=suites.SUITES[name]())
    # SUMMARY keeps a few failing rows only, with their key columns beside the failing values
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES,
                     "unexpected_index_column_names": keys}
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format=result_format
    )
    source.delete_asset(asset_name)
    for outcome in result.results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        details = outcome.result or {}
        count = details.get("unexpected_count", details.get("observed_value"))
        sample = details.get("partial_unexpected_list", [])[:EXAMPLES]
        failing = [{key: row.get(key) for key in keys} for row in details.get("partial_unexpected_index_list") or []]
        kwargs = config.kwargs
        columns = kwargs.get("column") or kwargs.get("column_list") or ""
        if "column_A" in kwargs:
            relation = (">=" if kwargs.get("or_equal") else ">") if "greater_than" in config.type else "="
            columns = f"{kwargs['column_A']} {relation} {kwargs['column_B']}"
        raise TableInvalid(_message(name, config.type, config.description, columns, count, sample, failing))


def _message(name: str, rule: str, description: str | None, columns: object, count: object, sample: list,
             failing: list[dict]) -> str:
    """One line: the table, the expectation, how many rows broke it, and a few of them by key."""
    described = f" ({description})" if description else ""
    if isinstance(columns, list):
        columns = ", ".join(columns)
    sample = [_plain(value) for value in sample if not _missing(value)]  # nulls say nothing more
    values = f" (e.g. {sample})" if sample else ""
    keys: list[str] = []
    for row in failing:
        shown = ", ".join(f"{key}={_plain(value)!r}" for key, value in row.items())
        shown = f"({shown})" if len(row) > 1 else shown
        if shown not in keys:  # a duplicated key comes once per row that has it
            keys.append(shown)
    where = f"; failing keys: {'; '.join(keys[:EXAMPLES])}" if keys else ""
    return f"table {name} failed {rule}{described} on {columns or 'the table'}: {count} row(s){values}{where}"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> object:
    """numpy scalars as Python values, so messages read `step=2`, not `step=np.int64(2)`."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, dict)) else value


def validate_file(name: str, path: str | Path, *, memory_limit: str = "2GB") -> int:
    """Run the suite of table `name` on a Parquet file in bounded memory; returns its rows.

    Only for tables whose rules across rows are key uniqueness and the row count
    (suites.BATCHED): the suite runs on one batch of rows at a time, then validate_across
    checks what spans batches."""
    import pyarrow.parquet as pq

    from factory.tables import conform

    _require_batched(name)
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            validate(name, conform(name, pa.Table.from_batches([batch])))
        return validate_across(name, path, memory_limit=memory_limit)
    except GloreError as error:
        raise type(error)(f"{path}: {error}") from None


def validate_across(name: str, path: str | Path, *, memory_limit: str = "2GB") -> int:
    """The rules of a BATCHED suite that span batches (or the shards of a generation stage):
    unique keys over the whole file, checked in DuckDB (which spills to disk past
    `memory_limit`), and the suite itself where the file has no rows (the row count)."""
    import pyarrow.parquet as pq

    from factory.tables import conform

    _require_batched(name)
    parquet = pq.ParquetFile(path)
    if parquet.metadata.num_rows == 0:
        validate(name, conform(name, parquet.schema_arrow.empty_table()))
    _unique_across_batches(name, Path(path), memory_limit=memory_limit)
    return parquet.metadata.num_rows


def _require_batched(name: str) -> None:
    if name not in suites.BATCHED:
        raise ValueError(f"{name}: its suite has rules across rows; validate the whole table")


def _unique_across_batches(name: str, path: Path, *, memory_limit: str) -> None:
    import great_expectations.expectations as gxe

    from factory.duck import connect

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
        duplicated = connection.execute(
            f"select {listed}, sum(n) over () as duplicated_rows from "
            f"(select {listed}, count(*) as n from read_parquet($path) group by all having count(*) > 1) "
            "order by all limit $examples",
            {"path": str(path), "examples": EXAMPLES},
        ).fetchall()
        if duplicated:
            failing = [dict(zip(columns, row[: len(columns)])) for row in duplicated]
            raise TableInvalid(_message(name, expectation.expectation_type, None, ", ".join(columns),
                                        duplicated[0][-1], [], failing))
