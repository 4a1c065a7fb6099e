"""Running the SQL files in `sql/` with DuckDB: paths and values bound as `$name` parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def connect(*, memory_limit: str = "2GB", threads: int = 2):
    import duckdb

    # Past the memory limit DuckDB spills to its temp directory instead of failing.
    return duckdb.connect(config={"memory_limit": memory_limit, "threads": threads})


def run_sql(connection, name: str, parameters: Mapping[str, object]) -> pa.Table:
    """The table made by `sql/<name>.sql` with `parameters` bound.

    Only the parameters the query names are bound (DuckDB refuses extra ones), so a stage can
    offer one set of parameters to all its files."""
    query = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    named = set(re.findall(r"\$(\w+)", re.sub(r"--[^\n]*", "", query)))
    bound = {key: value for key, value in parameters.items() if key in named}
    return connection.sql(query, params=bound).to_arrow_table()
