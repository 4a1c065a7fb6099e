"""Import stepwise supervision from anyone's data into a validated `imported_steps` table.

Two layouts, told apart per row by their fields:
- stepwise supervision (TRL's): `prompt`, `completions` (one string per step) and `labels`
  (one bool, int or float in [0, 1] per step);
- Math-Shepherd's: `input`, the question and steps with a step tag (`ки`) after each step, and
  `label`, the same text with `+` or `-` where each tag is. The question ends where the first
  step's marker (`Step 1:`) begins.

Soft labels are kept as floats beside a hard label, 1 where soft > threshold (threshold 0 is
the SORM's rule: any verifier reached the answer). A bad row fails naming it, or under
bad_rows="drop" is skipped and counted by reason, as `task.bad_rows` does.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pyarrow as pa

from factory import GloreError
from factory.catalogue import SCHEMAS
from factory.tables import write_table
from factory.tasks.sources import BadRow, SourceRow, read_hub, read_json_list, read_jsonl, require_mapping, text_field

LOCAL_SUFFIXES = (".jsonl", ".json", ".parquet")


def read_source(source: str, *, split: str = "train", config: str | None = None) -> list[SourceRow]:
    """Rows of a local JSONL/JSON/Parquet file, or of one split of a hub dataset."""
    path = Path(source)
    if path.suffix in LOCAL_SUFFIXES or path.exists():
        if not path.is_file():
            raise GloreError(f"{path}: file not found")
        if path.suffix == ".jsonl":
            return read_jsonl(path)
        if path.suffix == ".json":
            return read_json_list(path)
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                records = pq.read_table(path).to_pylist()
            except (pa.ArrowInvalid, OSError) as error:
                raise GloreError(f"{path}: not a readable Parquet file ({error})") from None
            return [SourceRow(index, f"{path} row {index}", record) for index, record in enumerate(records)]
        raise GloreError(f"{path}: expected a {', '.join(LOCAL_SUFFIXES)} file")
    return read_hub(source, config, split)


def _soft_label(value: object, number: int) -> float:
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)):
        raise BadRow("label not a number", f"step {number} label is {value!r}")
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BadRow("label outside [0, 1]", f"step {number} label is {value!r}")
    return float(value)


def _checked_steps(steps: object) -> list[str]:
    if not isinstance(steps, list) or not steps:
        raise BadRow("no steps", f"steps are {steps!r}")
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, str) or not step.strip():
            raise BadRow("empty step", f"step {number} is {step!r}")
    return [step.strip() for step in steps]


def stepwise_row(record: dict) -> tuple[str, list[str], list[float]]:
    """(question, steps, soft labels) of a stepwise-supervision row."""
    question = text_field(record, "prompt", "no prompt")
    steps = _checked_steps(record.get("completions"))
    labels = record.get("labels")
    if not isinstance(labels, list) or len(labels) != len(steps):
        count = len(labels) if isinstance(labels, list) else repr(labels)
        raise BadRow("label count != step count", f"{count} labels for {len(steps)} steps")
    return question, steps, [_soft_label(value, number) for number, value in enumerate(labels, start=1)]


def shepherd_row(record: dict, *, tag: str, first_step: str) -> tuple[str, list[str], list[float]]:
    """(question, steps, labels) of a Math-Shepherd row: each tag of `input` is a `+` or `-`
    at the same place in `label`, once the earlier tags are replaced by one character each."""
    text = text_field(record, "input", "no input")
    signs = text_field(record, "label", "no label text")
    pieces = text.split(tag)
    if len(pieces) < 2 or pieces[-1].strip():
        raise BadRow("text after the last step tag", f"expected {tag!r} after every step")
    labels, offset = [], 0
    for number, piece in enumerate(pieces[:-1], start=1):
        offset += len(piece)
        sign = signs[offset] if offset < len(signs) else ""
        if sign not in ("+", "-"):
            raise BadRow("label count != step count", f"no +/- in `label` where step {number}'s tag is")
        labels.append(float(sign == "+"))
        offset += 1
    if first_step not in pieces[0]:
        raise BadRow("no question before the first step", f"no {first_step!r} in the first step")
    question, step_one = pieces[0].split(first_step, 1)
    if not question.strip():
        raise BadRow("no question before the first step", "the text starts with the first step")
    return question.strip(), _checked_steps([first_step + step_one, *pieces[1:-1]]), labels


def parse_row(record: object, *, tag: str, first_step: str) -> tuple[str, list[str], list[float]]:
    record = require_mapping(record)
    if "completions" in record:
        return stepwise_row(record)
    if "input" in record:
        return shepherd_row(record, tag=tag, first_step=first_step)
    raise BadRow("unknown layout", "expected prompt/completions/labels or Math-Shepherd's input/label")


def import_steps(source: str, *, out: Path, split: str = "train", config: str | None = None,
                 threshold: float = 0.5, bad_rows: str = "fail", tag: str = "ки",
                 first_step: str = "Step 1:") -> dict:
    """Write the validated `imported_steps` table of `source`; returns counts for the summary."""
    if bad_rows not in ("fail", "drop"):
        raise GloreError(f"bad_rows must be fail or drop, not {bad_rows!r}")
    if not 0 <= threshold < 1:
        raise GloreError("threshold must be in [0, 1)")
    rows, dropped = [], Counter()
    for row in read_source(source, split=split, config=config):
        try:
            question, steps, soft = parse_row(row.record, tag=tag, first_step=first_step)
        except BadRow as bad:
            if bad_rows == "fail":
                raise GloreError(f"{row.where}: {bad}") from None
            dropped[bad.reason] += 1
            continue
        rows.append({"solution_id": f"{out.stem}-{row.index:06d}", "question": question, "steps": steps,
                     "soft_labels": soft, "labels": [int(value > threshold) for value in soft]})
    if not rows:
        raise GloreError(f"{source}: no usable rows (dropped: {dict(dropped) or 'none'})")
    write_table("imported_steps", pa.Table.from_pylist(rows, schema=SCHEMAS["imported_steps"]), out)
    labels = [label for row in rows for label in row["labels"]]
    return {"source": source, "out": str(out), "rows": len(rows), "steps": len(labels),
            "positive_steps": sum(labels), "threshold": threshold, "dropped": dict(dropped)}
