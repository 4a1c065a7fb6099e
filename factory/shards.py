"""Resumable generation: a stage's table built from shards, one Parquet file per finished unit.

Beside the output `<out>`, the folder `<out>.shards/` holds one Parquet file per finished work
unit and `manifest.jsonl`: a header with the fingerprint of everything the rows depend on
(params, inputs, model), then one line per finished unit. A shard is validated and written
atomically before its line is appended, so a unit in the manifest is whole. Killed (even by
SIGKILL) and rerun with the same fingerprint, a stage skips the finished units and samples the
others with the same per-unit seeds; a different fingerprint discards the shards instead of
mixing them. `finish` streams the shards, in unit order, into `<out>` (atomically) and removes
the folder, so the result equals an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from factory import GloreError
from factory.catalogue import SCHEMAS
from factory.expectations import validate_file
from factory.tables import ROW_GROUP_ROWS, atomic_path, write_table


def fingerprint(**parts: object) -> str:
    """A digest of what a stage's rows depend on: params sections (dataclasses), plain values,
    and paths: a file by its content, a folder (a model) by its files' names, sizes and
    modification times (hashing the weights of a 13B model would take minutes)."""
    digest = hashlib.sha256()
    for key, value in sorted(parts.items()):
        digest.update(f"{key}={_describe(value)}\n".encode())
    return digest.hexdigest()


def _describe(value: object) -> str:
    if is_dataclass(value) and not isinstance(value, type):
        return json.dumps(asdict(value), sort_keys=True)
    if isinstance(value, Path):
        if value.is_file():
            content = hashlib.sha256()
            with value.open("rb") as handle:
                while block := handle.read(1 << 20):
                    content.update(block)
            return f"file:{content.hexdigest()}"
        if value.is_dir():
            files = sorted(path for path in value.rglob("*") if path.is_file())
            return json.dumps([(str(path.relative_to(value)), path.stat().st_size, path.stat().st_mtime_ns)
                               for path in files])
        return f"name:{value}"  # a hub id
    return json.dumps(value, sort_keys=True, default=str)


class Shards:
    """The finished units of table `name` on its way to `out`."""

    def __init__(self, name: str, out: Path, fingerprint: str) -> None:
        self.name = name
        self.out = Path(out)
        self.folder = self.out.with_name(f"{self.out.name}.shards")
        self.manifest = self.folder / "manifest.jsonl"
        self.header = {"table": name, "fingerprint": fingerprint}
        lines = self._lines()
        if lines[:1] != [self.header]:
            # other params or inputs made these rows: start over rather than mix
            shutil.rmtree(self.folder, ignore_errors=True)
            lines = []
        elif len(lines) < len(self.manifest.read_text(encoding="utf-8").splitlines()):
            self._write_manifest(lines)  # drop a line torn by a kill, so appends start clean
        self.done: dict[str, dict] = {line["unit"]: line for line in lines[1:]}

    def _lines(self) -> list[dict]:
        if not self.manifest.is_file():
            return []
        lines = []
        for text in self.manifest.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError:
                break  # only the last line can be torn; its unit simply runs again
        return lines

    def _write_manifest(self, lines: list[dict]) -> None:
        with atomic_path(self.manifest) as temporary:
            temporary.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    def __contains__(self, unit: str) -> bool:
        return unit in self.done

    def _path(self, unit: str) -> Path:
        return self.folder / f"{unit}.parquet"

    def add(self, unit: str, table: pa.Table, **stats: int) -> None:
        """Keep a finished unit: its rows validated and written atomically, then its manifest
        line (with `stats`, counts the table does not hold, summed by `stats()`)."""
        if not self.manifest.is_file():
            # created with the first unit, so a stage that fails before any writes nothing
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write_manifest([self.header])
        write_table(self.name, table, self._path(unit))
        line = {"unit": unit, "rows": table.num_rows, **stats}
        with self.manifest.open("a", encoding="utf-8") as manifest:
            manifest.write(json.dumps(line) + "\n")
        self.done[unit] = line

    def stats(self) -> dict[str, int]:
        """Each stat summed over the finished units."""
        totals: dict[str, int] = {}
        for line in self.done.values():
            for key, value in line.items():
                if key != "unit":
                    totals[key] = totals.get(key, 0) + value
        return totals

    def _check(self, units: Sequence[str]) -> None:
        missing = [unit for unit in units if unit not in self.done]
        if missing:
            raise GloreError(f"{self.name}: {len(missing)} unit(s) unfinished, e.g. {missing[0]}")

    def _shard(self, unit: str) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self._path(unit))
        except (pa.ArrowInvalid, OSError) as error:
            raise GloreError(f"{self._path(unit)}: unreadable shard ({error}); delete {self.folder} "
                             "to start over") from None

    def read(self, units: Sequence[str]) -> pa.Table:
        """The rows of `units`, in order, in memory; the shards stay (expert iteration keeps a
        round's samples until the stage is done)."""
        self._check(units)
        return pa.concat_tables([SCHEMAS[self.name].empty_table(), *(self._shard(unit).read() for unit in units)])

    def finish(self, units: Sequence[str]) -> int:
        """Write the rows of `units`, in order, to the output and remove the shards; returns the
        rows written. Each shard passed its suite when written; what spans shards (unique keys,
        the row count) is checked with the whole suite, in DuckDB, on the whole output before it
        replaces the old one."""
        self._check(units)
        with atomic_path(self.out) as temporary:
            with pq.ParquetWriter(temporary, SCHEMAS[self.name]) as writer:
                pending: list[pa.Table] = []
                for unit in units:
                    shard = self._shard(unit)
                    pending.extend(shard.read_row_group(group) for group in range(shard.num_row_groups))
                    if sum(table.num_rows for table in pending) >= ROW_GROUP_ROWS:
                        writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                        pending = []
                if pending:
                    writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
            rows = validate_file(self.name, temporary, shown_as=self.out)
        shutil.rmtree(self.folder, ignore_errors=True)
        return rows
