"""`glore sql` is an inspection command: one read-only SELECT that sees only the Parquet files
of its --data folder. Everything else ends in one line `error: sql: ...`, exit code 1, and no
file anywhere in the workspace created, changed or removed."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from factory.cli import app
from factory.query import _read_only_connection

# query -> a piece of its one-line error
REFUSED = {
    "copy over a pipeline table": ("copy (select * from orm_steps limit 1) to 'data/orm_steps.parquet'", "not COPY"),
    "copy to a new file": ("copy orm_steps to 'data/x.parquet'", "not COPY"),
    "export database": ("export database 'dump'", "not EXPORT"),
    "read a file outside --data": ("select * from read_csv('/etc/passwd')", "Permission Error"),
    "read text outside --data": ("select * from read_text('/etc/hostname')", "Permission Error"),
    "read a Parquet file beside --data": ("select * from '../outside.parquet'", "Permission Error"),
    "list a folder": ("select * from glob('/etc/*')", "Permission Error"),
    "attach a database": ("attach 'x.duckdb'", "not ATTACH"),
    "several statements": ("select 1; copy orm_steps to 'data/x.parquet'", "exactly one statement, got 2"),
    "no statement": (" ; ", "exactly one statement, got 0"),
    "install an extension": ("install httpfs", "not LOAD"),
    "load an extension": ("load httpfs", "not LOAD"),
    "turn the guards off": ("set enable_external_access = true", "not SET"),
    "pragma": ("pragma enable_profiling", "not PRAGMA"),
    "create a table": ("create table t as select 1", "not CREATE"),
    "parse error": ("selec 1", "Parser Error"),
    "runtime error": ("select cast('abc' as int)", "Conversion Error"),
    "unknown table": ("select * from no_such_table", "Catalog Error"),
}


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """data/orm_steps.parquet, a Parquet file beside data/, and the workspace as working folder,
    so that relative paths in a query land inside it."""
    (tmp_path / "data").mkdir()
    table = pa.table({"rollout_id": ["q0/0", "q0/0", "q1/0"], "step": [1, 2, 1], "label": [1, 0, 1]})
    pq.write_table(table, tmp_path / "data" / "orm_steps.parquet")
    pq.write_table(pa.table({"secret": [42]}), tmp_path / "outside.parquet")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def hashes(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            for path in sorted(folder.rglob("*"))}


def sql(*args: str):
    return CliRunner().invoke(app, ["sql", *args])


def assert_one_line_error(result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: sql: ") and expected in lines[0], result.output


def test_a_select_reads_the_tables_by_name(workspace):
    result = sql("select count(*) as n, sum(label) as positives from orm_steps", "--data", "data")
    assert result.exit_code == 0, result.output
    assert "positives" in result.output and re.search(r"│\s*3\s*│\s*2\s*│", result.output), result.output
    assert sql("describe orm_steps", "--data", "data").exit_code == 0


@pytest.mark.parametrize("name", REFUSED)
def test_refused_in_one_line_and_nothing_changes(workspace, name):
    query, expected = REFUSED[name]
    before = hashes(workspace)
    assert_one_line_error(sql(query, "--data", "data"), expected)
    assert hashes(workspace) == before


def test_a_corrupt_parquet_in_data_is_one_line_naming_it(workspace):
    (workspace / "data" / "rollouts.parquet").write_bytes(b"PAR1 not really")
    before = hashes(workspace)
    result = sql("select count(*) from orm_steps", "--data", "data")
    assert_one_line_error(result, "rollouts.parquet: not a readable Parquet table")
    assert hashes(workspace) == before


def test_a_missing_data_folder_is_one_line(workspace):
    before = hashes(workspace)
    assert_one_line_error(sql("select 1", "--data", "nope"), "nope: data folder not found")
    assert hashes(workspace) == before


def test_a_negative_limit_is_one_line(workspace):
    assert_one_line_error(sql("select 1", "--data", "data", "--limit", "-1"), "--limit >= 0")


def test_duckdb_itself_refuses_writes_and_outside_reads(workspace):
    """DuckDB's own guards refuse these without the SELECT-only check (which is still needed:
    the allowed list would let a COPY onto a table's own file through)."""
    connection = _read_only_connection(workspace / "data")
    before = hashes(workspace)
    for statement in ("copy orm_steps to 'data/x.parquet'", "attach 'x.duckdb'", "install httpfs",
                      "select * from read_csv('/etc/passwd')", "set enable_external_access = true"):
        with pytest.raises(duckdb.Error):
            connection.execute(statement)
    assert hashes(workspace) == before


def test_debug_shows_the_traceback(workspace):
    result = CliRunner().invoke(app, ["--debug", "sql", "copy orm_steps to 'data/x.parquet'", "--data", "data"])
    assert result.exit_code != 0 and result.exception is not None and not isinstance(result.exception, SystemExit)
