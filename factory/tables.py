"""Validated, atomic Parquet I/O of the factory's tables (their schemas are in the catalogue)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from factory import GloreError
from factory.catalogue import SCHEMAS, conform
from factory.expectations import validate
from factory.validation import check_file, check_table, needed_inputs

ROW_GROUP_ROWS = 2**18  # rows per row group of a streamed table: at most a few hundred MB of text
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp and mkdtemp make owner-only files, outputs get the usual mode


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def replace_dir(temporary: Path, out: Path) -> None:
    """Swap a finished folder into place so `out` never holds a half-written model."""
    os.chmod(temporary, 0o777 & ~_UMASK)
    if not out.exists():
        temporary.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    out.rename(old / out.name)
    temporary.rename(out)
    shutil.rmtree(old)


def require_writable(path: str | Path) -> None:
    """Fail before any work when a file could not be written at `path`: a folder is in the way,
    or the nearest existing folder above it is a file or not writable."""
    path = Path(path)
    if path.is_dir():
        raise GloreError(f"{path}: a folder, not a file")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise GloreError(f"{path}: cannot be written ({folder} is not a writable folder)")


def write_json(data: dict | list, path: str | Path) -> None:
    """Metrics and summaries, written atomically like every table."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_table(name: str, table: pa.Table, path: str | Path) -> pa.Table:
    """Validate `table` against its suite, then write it atomically; returns what was written."""
    table = conform(name, table)
    validate(name, table)
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return table


def write_batches(name: str, batches: Iterable[pa.RecordBatch], path: str | Path) -> int:
    """Stream `batches` into a Parquet file of table `name`, atomically, unvalidated (the
    caller validates the file before using it); returns the rows written. Row groups hold
    ROW_GROUP_ROWS rows however the batches were cut, so the same rows give the same bytes."""
    pending, rows = SCHEMAS[name].empty_table(), 0
    with atomic_path(path) as temporary, pq.ParquetWriter(temporary, SCHEMAS[name]) as writer:
        for batch in batches:
            pending = pa.concat_tables([pending, conform(name, pa.Table.from_batches([batch]))])
            while pending.num_rows >= ROW_GROUP_ROWS:
                writer.write_table(pending.slice(0, ROW_GROUP_ROWS).combine_chunks())
                pending = pending.slice(ROW_GROUP_ROWS)
                rows += ROW_GROUP_ROWS
        if pending.num_rows or not rows:
            writer.write_table(pending.combine_chunks())
            rows += pending.num_rows
    return rows


def require_columns(name: str, path: str | Path) -> None:
    """Fail early, naming the file, when it is missing, not Parquet, or lacks a column of table
    `name`; only the schema is read, since a verifications file can hold millions of rows."""
    path = Path(path)
    present = _read_parquet(pq.read_schema, path)
    missing = [column for column in SCHEMAS[name].names if column not in present.names]
    if missing:
        raise GloreError(f"{path}: {name}: missing column(s) {', '.join(missing)}")
    # SQL reads the file as it is, so a column must already be of the kind the schema names
    wrong = [f"{field.name} is {present.field(field.name).type}, not {field.type}" for field in SCHEMAS[name]
             if _kind(present.field(field.name).type) != _kind(field.type)]
    if wrong:
        raise GloreError(f"{path}: {name}: columns have the wrong types ({'; '.join(wrong)})")


def _read_parquet(read, path: Path):
    """`read(path)` (the schema or the table), or a one-line error naming the file."""
    if not path.is_file():
        raise GloreError(f"{path}: input table not found")
    try:
        return read(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise GloreError(f"{path}: not a readable Parquet file ({error})") from None


def _kind(arrow_type: pa.DataType) -> str:
    """What SQL can tell apart: integers of any width alike, strings of any size alike."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"list of {_kind(arrow_type.value_type)}"
    for kind, test in (("integer", pa.types.is_integer), ("string", pa.types.is_string),
                       ("string", pa.types.is_large_string), ("boolean", pa.types.is_boolean)):
        if test(arrow_type):
            return kind
    return str(arrow_type)


def read_table(name: str, path: str | Path, *, inputs: Mapping[str, str | Path] | None = None) -> pa.Table:
    """Read a table and run its suite, or fail with a one-line error naming the file.

    Refinement pairs and balanced ORM steps have rules relative to the rollouts (and
    verifications) they were made from: they are checked when the reader passes those as
    `inputs`, and otherwise rest on the check the label stage made against them when writing."""
    path = Path(path)
    table = _read_parquet(pq.read_table, path)
    try:
        table = conform(name, table)
        if needed_inputs(name) <= set(inputs or {}):
            check_table(name, table, inputs=inputs or {})
    except GloreError as error:
        raise type(error)(f"{path}: {error}") from None
    return table


def validate_path(name: str, path: Path, *, inputs: Mapping[str, str | Path]) -> int:
    """The suite of table `name` on the file at `path`, where it lies; returns its rows."""
    require_columns(name, path)
    return check_file(name, path, inputs=inputs)
