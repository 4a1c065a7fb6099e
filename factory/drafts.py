"""`drafts` stage: the paper's (Q, D) test set.

Greedy student solutions to the test questions, each step labelled by the same verifying
procedure and the same SQL as the SORM's training data (sorm_labels.sql), and, where the task
knows its computation (arith), by the exact prefix truth as well.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from factory.duck import connect, run_sql
from factory.generation import make_generator
from factory.params import Params, SamplingParams
from factory.rollouts import sample_rollouts, summarise
from factory.tables import SCHEMAS, read_table, write_table
from factory.tasks import get_task
from factory.verify import generator_sampler, verify_rollouts


def verifier_labels(rollouts: pa.Table, verifications: list[dict], params: Params) -> dict[str, list[int]]:
    """{rollout_id: step labels} from sql/sorm_labels.sql, exactly as for training rollouts."""
    with tempfile.TemporaryDirectory() as folder:
        rollouts_path, verifications_path = Path(folder) / "rollouts.parquet", Path(folder) / "verifications.parquet"
        pq.write_table(rollouts, rollouts_path)
        pq.write_table(pa.Table.from_pylist(verifications, schema=SCHEMAS["verifications"]), verifications_path)
        connection = connect(memory_limit=params.label.memory_limit, threads=params.label.threads)
        labels = run_sql(
            connection,
            "sorm_labels",
            {"rollouts": str(rollouts_path), "verifications": str(verifications_path), "incomplete": "fail"},
        ).to_pylist()
    by_rollout: dict[str, list[int]] = {}
    for row in labels:  # ordered by rollout_id, step
        by_rollout.setdefault(row["rollout_id"], []).append(row["label"])
    return by_rollout


def drafts(params: Params, *, model: Path, questions: Path, out: Path) -> dict:
    task = get_task(params.task.name, params.task)
    test = [q for q in read_table("questions", questions).to_pylist() if q["split"] == "test"]
    if params.drafts.max_questions:
        test = test[: params.drafts.max_questions]
    generator = make_generator(params.generator, model)
    greedy = SamplingParams(k=1, temperature=0.0, max_new_tokens=params.drafts.max_new_tokens)
    rollouts = sample_rollouts(generator, task, test, greedy, questions_per_call=params.generator.batch_size,
                               description="drafts")
    by_id = {q["question_id"]: q for q in test}
    incorrect = [r for r in rollouts.to_pylist() if not r["is_correct"]]
    sample = generator_sampler(generator, params.verify.sampling)
    verifications = verify_rollouts(sample, task, incorrect, by_id, params.verify,
                                    batch_size=params.generator.batch_size)
    labels = verifier_labels(rollouts, verifications, params)
    exact = getattr(task, "prefix_validity", None)
    rows = [
        {
            "question_id": r["question_id"],
            "draft": r["steps"],
            "final_answer": r["final_answer"],
            "is_correct": r["is_correct"],
            "step_labels": labels.get(r["rollout_id"], []),
            "exact_labels": exact(by_id[r["question_id"]]["question"], by_id[r["question_id"]]["solution"], r["steps"])
            if exact
            else None,
            "n_tokens": r["n_tokens"],
        }
        for r in rollouts.to_pylist()
    ]
    write_table("drafts", pa.Table.from_pylist(rows, schema=SCHEMAS["drafts"]), out)
    return {
        "drafts": len(rows),
        "maj1": summarise(rollouts)["correct_share"],
        "verifier_tokens": sum(v["n_tokens"] for v in verifications),
        "draft_tokens": summarise(rollouts)["generated_tokens"],
    }
