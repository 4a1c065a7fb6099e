"""Great Expectations suites, one per table, run before any table is written or used."""

from __future__ import annotations

import os
from functools import cache

import pyarrow as pa

from factory import GloreError
from factory.expectations import suites


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
    """Run the suite of table `name`; raise TableInvalid naming the first broken expectation."""
    gx, context, source = _context()
    frame = suites.with_derived_columns(name, table.to_pandas())
    asset_name = f"{name}_{len(source.assets)}"
    batch_definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("all")
    suite = gx.ExpectationSuite(name=asset_name, expectations=suites.SUITES[name]())
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    source.delete_asset(asset_name)
    for outcome in result.results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        details = outcome.result or {}
        count = details.get("unexpected_count", details.get("observed_value"))
        sample = details.get("partial_unexpected_list", [])[:3]
        kwargs = config.kwargs
        columns = kwargs.get("column") or kwargs.get("column_list") or ""
        if "column_A" in kwargs:
            relation = (">=" if kwargs.get("or_equal") else ">") if "greater_than" in config.type else "="
            columns = f"{kwargs['column_A']} {relation} {kwargs['column_B']}"
        rule = f" ({config.description})" if config.description else ""
        raise TableInvalid(
            f"table {name} failed {config.type}{rule} on {columns or 'the table'}: {count} row(s) "
            f"(e.g. {sample})"
        )
