"""Export step label tables to the stepwise-supervision format Hugging Face trainers read:
`prompt` (str), `completions` (list of step strings), `labels` (list of bool)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from factory.prompts import student_prompt
from factory.step_examples import read_examples
from factory.tables import atomic_path

STEPWISE = pa.schema([("prompt", pa.string()), ("completions", pa.list_(pa.string())), ("labels", pa.list_(pa.bool_()))])


def stepwise_rows(examples: list[dict]) -> list[dict]:
    """Each rollout's steps up to its first unlabelled one: the format needs a label per step,
    and a step dropped by balancing has none."""
    rows = []
    for example in examples:
        labels = example["labels"]
        labelled = labels.index(None) if None in labels else len(labels)
        if labelled:
            rows.append(
                {
                    "prompt": student_prompt(example["question"]),
                    "completions": example["steps"][:labelled],
                    "labels": [bool(label) for label in labels[:labelled]],
                }
            )
    return rows


def export(*, kind: str, steps: Path, rollouts: Path, questions: Path, out: Path) -> dict:
    rows = stepwise_rows(read_examples(kind, steps=steps, rollouts=rollouts, questions=questions))
    with atomic_path(out) as temporary:
        pq.write_table(pa.Table.from_pylist(rows, schema=STEPWISE), temporary)
    return {"kind": kind, "rows": len(rows), "steps": sum(len(row["labels"]) for row in rows)}
