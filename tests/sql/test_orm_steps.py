"""Given/expect tests of sql/orm_steps.sql on tiny hand-written rollouts."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from factory.catalogue import SCHEMAS
from factory.duck import connect, run_sql


def rollouts_file(tmp_path, rows):
    table = pa.Table.from_pylist(rows, schema=SCHEMAS["rollouts"])
    path = tmp_path / "rollouts.parquet"
    pq.write_table(table, path)
    return str(path)


def rollout(rollout_id, question_id, steps, is_correct):
    return {"rollout_id": rollout_id, "question_id": question_id, "sample_idx": int(rollout_id[-1]),
            "steps": steps, "step_results": [None] * len(steps), "final_answer": "1",
            "is_correct": is_correct, "n_tokens": 10}


def test_every_step_inherits_the_rollouts_correctness(tmp_path):
    path = rollouts_file(tmp_path, [
        rollout("q1/1", "q1", ["a", "b", "c"], False),
        rollout("q1/0", "q1", ["a", "b"], True),
        rollout("q2/0", "q2", ["x"], False),
        rollout("q3/0", "q3", [], True),  # no steps: no rows, nothing to label
    ])
    got = run_sql(connect(), "orm_steps", {"rollouts": path}).to_pylist()
    assert got == [
        {"rollout_id": "q1/0", "step": 1, "question_id": "q1", "label": 1},
        {"rollout_id": "q1/0", "step": 2, "question_id": "q1", "label": 1},
        {"rollout_id": "q1/1", "step": 1, "question_id": "q1", "label": 0},
        {"rollout_id": "q1/1", "step": 2, "question_id": "q1", "label": 0},
        {"rollout_id": "q1/1", "step": 3, "question_id": "q1", "label": 0},
        {"rollout_id": "q2/0", "step": 1, "question_id": "q2", "label": 0},
    ]


def test_output_schema_matches_the_table_contract(tmp_path):
    path = rollouts_file(tmp_path, [rollout("q1/0", "q1", ["a"], True)])
    got = run_sql(connect(), "orm_steps", {"rollouts": path})
    assert got.cast(SCHEMAS["orm_steps"]).schema == SCHEMAS["orm_steps"]
