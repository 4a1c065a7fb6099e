"""Export step label tables to the stepwise-supervision format Hugging Face trainers read:
`prompt` (str), `completions` (list of step strings), `labels` (list of bool); and the test
drafts to ProcessBench's format, with the first-error index from the task's exact truth."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from factory import GloreError
from factory.processbench import first_error_index
from factory.prompts import student_prompt
from factory.step_examples import read_examples
from factory.tables import atomic_path, read_table

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


def processbench_rows(drafts: list[dict], questions: dict[str, str]) -> tuple[list[dict], int]:
    """(ProcessBench rows of the drafts that have exact step truth, how many have none)."""
    rows = [{"id": draft["question_id"], "problem": questions[draft["question_id"]], "steps": draft["draft"],
             "label": first_error_index(draft["exact_labels"]), "final_answer_correct": draft["is_correct"]}
            for draft in drafts if draft["exact_labels"] and draft["draft"]]
    return rows, len(drafts) - len(rows)


def export_processbench(*, drafts: Path, questions: Path, out: Path) -> dict:
    text = {q["question_id"]: q["question"] for q in read_table("questions", questions).to_pylist()}
    rows, unknown = processbench_rows(read_table("drafts", drafts).to_pylist(), text)
    if not rows:
        raise GloreError(f"{drafts}: no draft has exact step truth (only the arith task knows it)")
    with atomic_path(out) as temporary:
        temporary.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return {"kind": "processbench", "rows": len(rows), "erroneous": sum(row["label"] != -1 for row in rows),
            "without_exact_truth": unknown, "out": str(out)}
