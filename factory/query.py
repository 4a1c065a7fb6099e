"""`glore sql`: one read-only query over the Parquet tables of a data folder.

The guards are DuckDB's own: the tables are registered as views, then external access is
switched off with only those files allowed, extensions can be neither installed nor loaded,
and the configuration is locked. An allowed file is writable too, so the text must also be
exactly one SELECT (DESCRIBE, SHOW and SUMMARIZE are SELECTs to DuckDB): a COPY onto a table's
own file, ATTACH, SET and the like never run."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from factory import GloreError, first_line


def run_query(query: str, *, data: Path, limit: int) -> str:
    """The query's first `limit` rows drawn as a table; every failure is a one-line GloreError."""
    import duckdb

    if limit < 0:
        raise GloreError("need --limit >= 0")
    if not data.is_dir():
        raise GloreError(f"{data}: data folder not found")
    connection = _read_only_connection(data)
    try:
        statements = connection.extract_statements(query)
    except duckdb.Error as error:
        raise GloreError(first_line(error)) from None
    if len(statements) != 1:
        raise GloreError(f"expected exactly one statement, got {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise GloreError(f"only a read-only SELECT is allowed, not {kind.name}")
    buffer = io.StringIO()
    try:
        # show() is the one public renderer, and it prints; it runs the query, so runtime errors land here
        with contextlib.redirect_stdout(buffer):
            connection.sql(query).limit(limit).show(max_width=200)
    except duckdb.Error as error:
        raise GloreError(first_line(error)) from None
    return buffer.getvalue()


def _read_only_connection(data: Path):
    """An in-memory DuckDB that sees each `data/<name>.parquet` as view `<name>` and nothing else."""
    import duckdb

    # no spill folder: an inspection writes nothing, and a query too big for memory fails instead
    connection = duckdb.connect(
        config={"temp_directory": "", "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    paths = sorted(data.glob("*.parquet"))
    for path in paths:
        try:
            connection.read_parquet(str(path)).create_view(path.stem)
        except duckdb.Error as error:
            raise GloreError(f"{path}: not a readable Parquet table ({first_line(error)})") from None
    # the views read their files at query time, so those files (and only those) stay allowed;
    # the order matters: the allowed list cannot change once external access is off
    connection.execute("set allowed_paths = $paths", {"paths": [os.path.abspath(path) for path in paths]})
    connection.execute("set enable_external_access = false")
    connection.execute("set lock_configuration = true")
    return connection
