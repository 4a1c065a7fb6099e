"""Step classifier examples: a step label table joined to its rollouts and questions, one
example per labelled rollout. The reward stage trains on them; export writes them out."""

from __future__ import annotations

from pathlib import Path

from factory import seeded_hash
from factory.catalogue import STEP_TABLES
from factory.tables import read_table


def classifier_examples(step_labels: list[dict], rollouts: list[dict], questions: list[dict]) -> list[dict]:
    """One example per labelled rollout: its steps up to the last labelled one, a label per
    step (None where the table kept no label, e.g. a step dropped by balancing), and the final
    answer line when the last step is among them (the reward model judges the whole solution)."""
    labels: dict[str, dict[int, int]] = {}
    for row in step_labels:
        labels.setdefault(row["rollout_id"], {})[row["step"]] = row["label"]
    question_text = {q["question_id"]: q["question"] for q in questions}
    examples = []
    for rollout in rollouts:
        kept = labels.get(rollout["rollout_id"])
        if not kept:
            continue
        last = max(kept)
        examples.append(
            {
                "question_id": rollout["question_id"],
                "question": question_text[rollout["question_id"]],
                "steps": rollout["steps"][:last],
                "labels": [kept.get(step) for step in range(1, last + 1)],
                "answer": rollout["final_answer"] if last == len(rollout["steps"]) else None,
            }
        )
    return examples


def read_examples(kind: str, *, steps: Path, rollouts: Path, questions: Path) -> list[dict]:
    """classifier_examples() of the validated step table of `kind` and the tables it refers to."""
    return classifier_examples(
        read_table(STEP_TABLES[kind], steps, inputs={"rollouts": rollouts})
        .select(["rollout_id", "step", "label"]).to_pylist(),
        read_table("rollouts", rollouts).to_pylist(),
        read_table("questions", questions).to_pylist(),
    )


def is_holdout(question_id: str, *, share: float, seed: int) -> bool:
    """A stable, seeded choice of held-out questions (all rollouts of a question go together)."""
    return seeded_hash(question_id, seed) / 2**64 < share
