"""Train a process reward model on an `imported_steps` table: the `reward` stage's step
classifier, trainer and output folder, on anyone's stepwise data."""

from __future__ import annotations

from pathlib import Path

from factory.params import TrainingParams
from factory.step_examples import is_holdout
from factory.tables import read_table


def prm_examples(rows: list[dict], *, last_step_only: bool) -> list[dict]:
    """One classifier example per solution, its hard labels on its steps; with `last_step_only`
    only the final step is labelled (an ORM). No answer line: imported steps hold their own."""
    examples = []
    for row in rows:
        labels = list(row["labels"])
        if last_step_only:
            labels = [None] * (len(labels) - 1) + labels[-1:]
        examples.append({"question_id": row["solution_id"], "question": row["question"], "steps": row["steps"],
                         "labels": labels, "answer": None})
    return examples


def train_prm(*, data: Path, init: str | Path, out: Path, params: TrainingParams, holdout_share: float,
              last_step_only: bool = False) -> dict:
    from trainers.step_classifier import train_step_classifier

    examples = prm_examples(read_table("imported_steps", data).to_pylist(), last_step_only=last_step_only)
    held = [is_holdout(e["question_id"], share=holdout_share, seed=params.seed) for e in examples]
    stats = train_step_classifier(init_model=init, train=[e for e, h in zip(examples, held) if not h],
                                  holdout=[e for e, h in zip(examples, held) if h], params=params, out=out)
    # the trainer counts labels past the model's context; say so by name, never drop them silently
    stats["labels_cut_by_truncation"] = stats.pop("dropped_labels")
    return {"data": str(data), "last_step_only": last_step_only, "solutions": len(examples),
            "holdout_solutions": sum(held), **stats}
