"""Running the SQL files in `sql/` with DuckDB: paths and values bound as `$name` parameters."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from factory import GloreError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# The rules several files apply, defined once (consistency, the seeded draw, ...).
MACROS = SQL_DIR / "macros.sql"


def connect(*, memory_limit: str = "2GB", threads: int = 2, temp_directory: str | Path | None = None):
    """An in-memory DuckDB that spills to `temp_directory` past `memory_limit` instead of failing,
    with the macros of sql/macros.sql defined (for its cursors too).

    Without a folder it gets one of its own under the system's temp folder, removed with the
    connection (DuckDB's default, `.tmp` in the working directory, would litter the repo).
    DuckDB creates the folder only when it first spills."""
    import duckdb

    own = temp_directory is None
    if own:
        temp_directory = Path(tempfile.gettempdir()) / f"glore-duckdb-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        connection = duckdb.connect(
            config={"memory_limit": memory_limit, "threads": threads, "temp_directory": str(temp_directory)}
        )
    except duckdb.Error as error:
        if own:
            shutil.rmtree(temp_directory, ignore_errors=True)
        raise GloreError(f"cannot start DuckDB: {str(error).splitlines()[0]}") from None
    if own:
        weakref.finalize(connection, shutil.rmtree, temp_directory, ignore_errors=True)
    connection.execute(MACROS.read_text(encoding="utf-8"))
    return connection


def run_sql(connection, name: str, parameters: Mapping[str, object]) -> pa.Table:
    """The table made by `sql/<name>.sql` with `parameters` bound."""
    return _relation(connection, name, parameters).to_arrow_table()


def stream_sql(connection, name: str, parameters: Mapping[str, object], rows: int) -> pa.RecordBatchReader:
    """The rows made by `sql/<name>.sql`, in batches of about `rows`, so that memory does not
    grow with the result. DuckDB may raise while the batches are read: see sql_errors."""
    return _relation(connection, name, parameters).to_arrow_reader(rows)


def copy_sql(connection, name: str, parameters: Mapping[str, object], path: str | Path) -> None:
    """Write the rows made by `sql/<name>.sql` to a Parquet file at `path` with DuckDB's own
    writer, in parallel: for a table that later files read and no one else (its bytes are not
    pyarrow's, unlike an output's)."""
    connection.execute(f"copy (\n{sql_text(name)}\n) to $copy_to (format parquet)",
                       {**bound_parameters(name, parameters), "copy_to": str(path)})


def copy_intermediates(connection, names: tuple[str, ...], parameters: dict[str, object], folder: Path) -> None:
    """Make each table of `names`, in order, into `folder`/<name>.parquet (copy_sql) and add its
    path to `parameters` as $<name>, for the files that read it."""
    for name in names:
        parameters[name] = str(folder / f"{name}.parquet")
        with sql_errors(name):
            copy_sql(connection, name, parameters, parameters[name])


def _relation(connection, name: str, parameters: Mapping[str, object]):
    return connection.sql(sql_text(name), params=bound_parameters(name, parameters))


def sql_text(name: str) -> str:
    """The statement of `sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def bound_parameters(name: str, parameters: Mapping[str, object]) -> dict[str, object]:
    """The `parameters` that `sql/<name>.sql` names: DuckDB refuses extra ones, and a stage
    offers one set of parameters to all its files."""
    named = parameters_of(name)
    return {key: value for key, value in parameters.items() if key in named}


def identifier(name: str) -> str:
    """A column or table name quoted for SQL: names come from the suites and the catalogue,
    never from data, but quoting keeps any of them one identifier."""
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def sql_errors(name: str) -> Iterator[None]:
    """DuckDB's errors inside the block as one-line GloreErrors naming `name`; error() in the
    SQL (an incomplete verification) reads as DuckDB's "Invalid Input Error: ..."."""
    import duckdb

    try:
        yield
    except duckdb.Error as error:
        message = str(error).splitlines()[0].removeprefix("Invalid Input Error: ")
        raise GloreError(f"{name}: {message}") from None


def parameters_of(name: str) -> set[str]:
    """The `$name` parameters that `sql/<name>.sql` uses (comments aside)."""
    query = sql_text(name)
    return set(re.findall(r"\$(\w+)", re.sub(r"--[^\n]*", "", query)))
