"""Tiny hand-written rollouts and verifications, written as Parquet, and the label SQL run on them."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from factory.catalogue import LABEL_INTERMEDIATES, SCHEMAS
from factory.duck import connect, copy_intermediates, run_sql

ANSWER = "12"
READS_SORM_LABELS = ("sorm_steps", "refine_local")


def rollout(rollout_id: str, results: list, *, correct: bool, steps: list[str] | None = None,
            answer: str | None = None) -> dict:
    """A rollout `q/i` whose steps compute `results` (None: a step with no result); steps are
    named after their rollout and number unless given, so two rollouts differ in text."""
    question_id, sample_idx = rollout_id.split("/")
    return {
        "rollout_id": rollout_id,
        "question_id": question_id,
        "sample_idx": int(sample_idx),
        "steps": steps if steps is not None else [f"{rollout_id} step {i}" for i in range(1, len(results) + 1)],
        "step_results": results,
        "final_answer": answer if answer is not None else (ANSWER if correct else "99"),
        "is_correct": correct,
        "n_tokens": 10,
    }


def verifier(rollout_id: str, step: int, verifier_idx: int, numbers: list[str], *, correct: bool,
             continuation: list[str] | None = None) -> dict:
    """A continuation of P_step that mentions `numbers` and ends in the answer, or not."""
    return {
        "rollout_id": rollout_id,
        "step": step,
        "verifier_idx": verifier_idx,
        "continuation": continuation if continuation is not None else [f"{rollout_id} v{step}.{verifier_idx}"],
        "continuation_numbers": numbers,
        "final_answer": ANSWER if correct else "98",
        "is_correct": correct,
        "n_tokens": 5,
    }


class Inputs:
    """rollouts.parquet and verifications.parquet in a folder, and the SQL files run on them."""

    def __init__(self, folder, rollouts: list[dict], verifications: list[dict] = ()):
        self.folder = folder
        self.rollouts = folder / "rollouts.parquet"
        self.verifications = folder / "verifications.parquet"
        pq.write_table(pa.Table.from_pylist(rollouts, schema=SCHEMAS["rollouts"]), self.rollouts)
        pq.write_table(pa.Table.from_pylist(list(verifications), schema=SCHEMAS["verifications"]),
                       self.verifications)

    def parameters(self, **overrides) -> dict:
        return {"rollouts": str(self.rollouts), "verifications": str(self.verifications), "seed": 0,
                "incomplete": "fail", "max_targets_per_draft": 4, "exhaustive": True, **overrides}

    def made(self, connection, **overrides) -> dict:
        """The parameters, with the intermediates the label stage makes before its tables."""
        parameters = self.parameters(**overrides)
        copy_intermediates(connection, LABEL_INTERMEDIATES, parameters, self.folder)
        return parameters

    def with_labels(self, connection, **overrides) -> dict:
        """The parameters made, with sorm_labels made from the same inputs, as later files read it."""
        parameters = self.made(connection, **overrides)
        labels = self.folder / "sorm_labels.parquet"
        pq.write_table(run_sql(connection, "sorm_labels", parameters), labels)
        parameters["sorm_labels"] = str(labels)
        return parameters

    def sql(self, name: str, **overrides) -> list[dict]:
        """Rows of sql/<name>.sql."""
        connection = connect()
        make = self.with_labels if name in READS_SORM_LABELS else self.made
        return run_sql(connection, name, make(connection, **overrides)).to_pylist()
