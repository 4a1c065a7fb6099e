"""Each suite must accept a good table and reject a bad one with a message naming the rule."""

from __future__ import annotations

import pyarrow as pa
import pytest

from factory.catalogue import SCHEMAS
from factory.expectations import TableInvalid, validate
from factory.params import TaskParams
from factory.tables import write_table
from factory.tasks import get_task
from factory.validation import check_table


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


def rollout_row(steps, step_results, sample_idx=0):
    return {"rollout_id": f"q/{sample_idx}", "question_id": "q", "sample_idx": sample_idx, "steps": steps,
            "step_results": step_results, "final_answer": "1", "is_correct": True, "n_tokens": 3}


@pytest.mark.parametrize("steps", [["a", "  "], ["a", None], [""], ["\u3000\x0b"]])  # Unicode and vertical space: blank
def test_rollouts_reject_blank_or_null_steps(steps):
    row = rollout_row(steps, [None] * len(steps), sample_idx=1)
    with pytest.raises(TableInvalid, match=r"null_steps: 1 row.*failing keys: rollout_id='q/1'"):
        validate("rollouts", pa.Table.from_pylist([rollout_row(["a"], ["1"]), row], schema=SCHEMAS["rollouts"]))


def draft_row(question_id, labels):
    return {"question_id": question_id, "draft": ["s"] * len(labels), "final_answer": "1", "is_correct": False,
            "step_labels": labels, "exact_labels": None, "n_tokens": 3}


@pytest.mark.parametrize(
    ("labels", "rule"),
    [([1, 0, 1], "labels_increase"), ([1, 2], "labels_not_binary"), ([1, None], "labels_not_binary")],
)
def test_drafts_reject_labels_that_rise_or_are_not_binary(labels, rule):
    # the good draft beside it ends where the bad one starts: rises are counted within a draft
    table = pa.Table.from_pylist([draft_row("a", [1, 0]), draft_row("b", labels)], schema=SCHEMAS["drafts"])
    with pytest.raises(TableInvalid, match=rf"{rule}: 1 row.*failing keys: question_id='b'"):
        validate("drafts", table)
    validate("drafts", pa.Table.from_pylist([draft_row("a", [1, 0]), draft_row("b", [1, 1, 0])],
                                            schema=SCHEMAS["drafts"]))


def test_a_rule_broken_by_several_rows_counts_every_row():
    # the failing rows are not the first: the first by key is named, and all are counted
    rows = [("r1", 1, 1), ("r1", 2, 5), ("r2", 1, 5), ("r3", 1, 0), ("r4", 1, 5)]
    with pytest.raises(TableInvalid, match=r"labels in \{0, 1\}.*: 3 row.*failing keys: \(rollout_id='r1', step=2\)"):
        check_table("orm_steps", orm_steps(rows), inputs={})
