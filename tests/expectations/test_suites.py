"""Each suite must accept a good table and reject a bad one with a message naming the rule."""

from __future__ import annotations

import pyarrow as pa
import pytest

from factory.expectations import TableInvalid, validate
from factory.tables import SCHEMAS, write_table
from factory.validation import check_table
from factory.tasks import get_task
from factory.params import TaskParams


def orm_steps(rows):
    return pa.Table.from_pylist(
        [{"rollout_id": r, "step": s, "question_id": "q", "label": label} for r, s, label in rows],
        schema=SCHEMAS["orm_steps"],
    )


def test_good_tables_pass():
    validate("questions", get_task("arith", TaskParams(n_train=5, n_test=2)).load("train"))
    check_table("orm_steps", orm_steps([("r1", 1, 1), ("r1", 2, 1), ("r2", 1, 0)]), inputs={})


@pytest.mark.parametrize(
    ("rows", "rule"),
    [
        ([("r1", 1, 1), ("r1", 1, 0)], r"keys \(rollout_id, step\) unique.*failing keys: \(rollout_id='r1', step=1\)"),
        ([("r1", 1, 2)], r"labels in \{0, 1\}.*failing keys: \(rollout_id='r1', step=1\)"),
        ([("r1", 1, 1), ("r1", 3, 1)], "steps numbered 1..L"),  # step 2 missing
        ([("r1", 2, 1)], "steps numbered 1..L"),  # steps start at 1
    ],
)
def test_bad_orm_steps_are_rejected_by_name(rows, rule):
    with pytest.raises(TableInvalid, match=rule):
        check_table("orm_steps", orm_steps(rows), inputs={})


def test_bad_questions_rejected_and_nothing_written(tmp_path):
    table = get_task("arith", TaskParams(n_train=5, n_test=2)).load("train")
    bad = table.set_column(3, "answer", pa.array(["seven"] * table.num_rows))
    out = tmp_path / "questions.parquet"
    with pytest.raises(TableInvalid, match="answer"):
        write_table("questions", bad, out)
    assert list(tmp_path.iterdir()) == []


def test_rollouts_need_one_result_slot_per_step():
    row = {"rollout_id": "q/0", "question_id": "q", "sample_idx": 0, "steps": ["a", "b"],
           "step_results": ["1"], "final_answer": "1", "is_correct": True, "n_tokens": 3}
    with pytest.raises(TableInvalid, match="n_steps"):
        validate("rollouts", pa.Table.from_pylist([row], schema=SCHEMAS["rollouts"]))
