"""Tasks read from a dataset: a local file per split or the Hugging Face hub.

Every source row either becomes one question or is a bad row. Under `task.bad_rows: fail`
the first bad row stops the stage with a one-line error naming the file (or hub id) and the
row; under `drop` it is skipped and counted by reason, so nothing disappears silently.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from factory import GloreError
from factory.catalogue import SCHEMAS
from factory.params import TaskParams
from factory.tasks.task import Task

SPLITS = ("train", "test")


@dataclass(frozen=True)
class SourceRow:
    index: int  # position among the source's records: the number in the question_id
    where: str  # how a person finds the row: `data/gsm8k/train.jsonl line 43`
    record: object  # the decoded row; None where a line is not JSON


@dataclass(frozen=True)
class ParsedRow:
    question: str
    answer: str  # canonical number string
    solution: list[str]
    source_id: str | None = None  # the source's own id, checked for duplicates


class BadRow(Exception):
    """A row that cannot become a question. `reason` is what drops are counted by; `detail`
    says which value was wrong."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def require_mapping(record: object) -> dict:
    if not isinstance(record, dict):
        raise BadRow("not an object", "expected a JSON object with named fields")
    return record


def text_field(record: dict, key: str, reason: str) -> str:
    """A non-blank string field, stripped."""
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRow(reason, f"field {key!r} is {value!r}")
    return value.strip()


def _open(path: Path) -> str:
    if not path.is_file():
        raise GloreError(f"{path}: file not found (task.path)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise GloreError(f"{path}: not UTF-8 text (byte {error.start})") from None


def read_jsonl(path: Path) -> list[SourceRow]:
    """One JSON object a line; blank lines are skipped, a line that is not JSON is a bad row."""
    rows = []
    for number, line in enumerate(_open(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        rows.append(SourceRow(len(rows), f"{path} line {number}", record))
    return rows


def read_json_list(path: Path) -> list[SourceRow]:
    """A JSON list of objects; a file that is not a JSON list fails whatever `bad_rows` says."""
    try:
        records = json.loads(_open(path))
    except json.JSONDecodeError as error:
        raise GloreError(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from None
    if not isinstance(records, list):
        raise GloreError(f"{path}: expected a JSON list of objects, got {type(records).__name__}")
    return [SourceRow(index, f"{path} item {index}", record) for index, record in enumerate(records)]


def hub_name(hub_id: str, config: str | None) -> str:
    return f"{hub_id}[{config}]" if config else hub_id


def read_hub(hub_id: str, config: str | None, split: str) -> list[SourceRow]:
    """One split of a hub dataset through `datasets.load_dataset` (its cache, or the network)."""
    import datasets

    name = hub_name(hub_id, config)
    try:
        dataset = datasets.load_dataset(hub_id, name=config, split=split)
    except (OSError, ValueError, datasets.exceptions.DatasetsError) as error:
        message = str(error).strip().splitlines()
        reason = message[0] if message else type(error).__name__
        raise GloreError(f"hub dataset {name} split {split}: cannot load ({reason})") from None
    return [SourceRow(index, f"{name} {split} row {index}", record) for index, record in enumerate(dataset)]


class SourceTask(Task):
    """A task whose questions come from a dataset. Subclasses say where the hub copy lives,
    how a local file is read and how one record becomes a question."""

    hub_id: str = ""
    hub_config: str | None = None
    read_file: Callable[[Path], list[SourceRow]]  # a staticmethod in subclasses

    def __init__(self, params: TaskParams) -> None:
        self.params = params
        self._dropped: dict[str, dict[str, int]] = {}

    def parse_row(self, record: object) -> ParsedRow:
        raise NotImplementedError

    def dropped_rows(self) -> dict[str, dict[str, int]]:
        return {split: dict(counts) for split, counts in self._dropped.items()}

    def read_rows(self, split: str) -> tuple[str, list[SourceRow]]:
        """(the source's name for messages, its rows): the local file if `task.path` is set,
        else the hub dataset in params, else the task's usual hub dataset."""
        if self.params.path:
            path = Path(self.params.path.replace("{split}", split))
            return str(path), self.read_file(path)
        if self.params.hub_id:
            hub_id, config = self.params.hub_id, self.params.hub_config or None
        else:
            hub_id, config = self.hub_id, self.hub_config
        return hub_name(hub_id, config), read_hub(hub_id, config, split)

    def load(self, split: str) -> pa.Table:
        if split not in SPLITS:
            raise GloreError(f"{self.name} has splits {' and '.join(SPLITS)}, not {split!r}")
        source, rows = self.read_rows(split)
        questions, dropped, first_seen = [], Counter(), {}
        for row in rows:
            question_id = f"{self.name}-{split}-{row.index:05d}"
            try:
                parsed = self.parse_row(row.record)
                if parsed.source_id is not None:
                    if parsed.source_id in first_seen:
                        raise BadRow("duplicate id", f"{parsed.source_id!r} also at {first_seen[parsed.source_id]}")
                    first_seen[parsed.source_id] = row.where
            except BadRow as bad:
                if self.params.bad_rows == "fail":
                    raise GloreError(f"{row.where} ({question_id}): {bad}") from None
                dropped[bad.reason] += 1
                continue
            questions.append(
                {
                    "question_id": question_id,
                    "split": split,
                    "question": parsed.question,
                    "answer": parsed.answer,
                    "solution": parsed.solution,
                }
            )
        self._dropped[split] = dict(dropped)
        if not questions:
            raise GloreError(f"{source}: no usable {split} rows (dropped: {dict(dropped) or 'none'})")
        return pa.Table.from_pylist(questions, schema=SCHEMAS["questions"])
