"""Given/expect tests of sql/sorm_labels.sql: raw labels, consistency, back-propagation and
incomplete verification."""

from __future__ import annotations

import duckdb
import pytest

from sql_inputs import rollout, verifier


def labels_of(rows: list[dict], rollout_id: str, column: str = "label") -> list:
    return [row[column] for row in rows if row["rollout_id"] == rollout_id]


def test_a_positive_step_makes_every_earlier_step_positive(inputs):
    # rule 1: step 2 reaches the answer, steps 1 and 3 have only failing verifiers
    given = inputs(
        [rollout("q/0", ["3", "6", "9", "99"], correct=False)],
        [verifier("q/0", 1, 0, ["3", "98"], correct=False),
         verifier("q/0", 2, 0, ["6", "12"], correct=True),
         verifier("q/0", 3, 0, ["9", "98"], correct=False)],
    )
    got = given.sql("sorm_labels")
    assert labels_of(got, "q/0", "raw_label") == [0, 1, 0, 0]
    assert labels_of(got, "q/0") == [1, 1, 0, 0]


def test_a_correct_continuation_without_the_steps_result_does_not_count(inputs):
    # rule 2: both verifiers reach 12, but only the one of step 1 uses its result 3
    given = inputs(
        [rollout("q/0", ["3", "6", "99"], correct=False)],
        [verifier("q/0", 1, 0, ["3", "12"], correct=True),
         verifier("q/0", 2, 0, ["5", "12"], correct=True)],
    )
    got = given.sql("sorm_labels")
    assert labels_of(got, "q/0", "raw_label") == [1, 0, 0]
    assert labels_of(got, "q/0") == [1, 0, 0]
    assert labels_of(got, "q/0", "n_correct") == [1, 1, 0]
    assert labels_of(got, "q/0", "n_consistent") == [1, 0, 0]


def test_a_step_without_a_result_is_consistent_with_any_correct_continuation(inputs):
    given = inputs(
        [rollout("q/0", [None, "99"], correct=False)],
        [verifier("q/0", 1, 0, ["12"], correct=True), verifier("q/0", 1, 1, [], correct=False)],
    )
    got = given.sql("sorm_labels")
    assert labels_of(got, "q/0", "raw_label") == [1, 0]
    assert labels_of(got, "q/0", "n_verifiers") == [2, 0]


def test_the_last_step_is_judged_by_the_rollouts_own_answer(inputs):
    # a correct rollout needs no verifiers; a one-step solution is its own last step
    given = inputs([
        rollout("q/0", ["3", "12"], correct=True),
        rollout("q/1", ["12"], correct=True),
        rollout("q/2", ["7"], correct=False),
        rollout("q/3", [], correct=False),  # no steps: nothing to label
    ])
    got = given.sql("sorm_labels")
    assert labels_of(got, "q/0", "raw_label") == [None, 1]
    assert labels_of(got, "q/0") == [1, 1]
    assert labels_of(got, "q/1") == [1]
    assert labels_of(got, "q/2") == [0]
    assert labels_of(got, "q/3") == []


def test_a_backward_search_leaves_steps_below_the_positive_unverified_but_decided(inputs):
    given = inputs(
        [rollout("q/0", ["3", "6", "9", "99"], correct=False)],
        [verifier("q/0", 3, 0, ["9"], correct=False), verifier("q/0", 3, 1, ["9"], correct=False),
         verifier("q/0", 2, 0, ["6", "12"], correct=True)],
    )
    got = given.sql("sorm_labels")
    assert labels_of(got, "q/0", "raw_label") == [None, 1, 0, 0]
    assert labels_of(got, "q/0") == [1, 1, 0, 0]


def test_incomplete_verification_fails_naming_the_rollouts(inputs):
    given = inputs(
        [rollout("q/0", ["3", "6", "99"], correct=False), rollout("q/1", ["3", "12"], correct=True),
         rollout("r/0", ["4", "99"], correct=False)],
        # q/0: step 2 verified and negative, step 1 never verified: its label is unknown
        [verifier("q/0", 2, 0, ["6"], correct=False), verifier("r/0", 1, 0, ["4"], correct=False)],
    )
    with pytest.raises(duckdb.InvalidInputException, match=r"incomplete verification: 1 rollout\(s\).*q/0"):
        given.sql("sorm_labels", incomplete="fail")


def test_incomplete_verification_drops_the_whole_question(inputs):
    # q/0 is incomplete, so q/1 (correct, complete) leaves with it: a question's correct rollouts
    # without its incorrect ones would teach the SORM which questions are easy
    given = inputs(
        [rollout("q/0", ["3", "6", "99"], correct=False), rollout("q/1", ["3", "12"], correct=True),
         rollout("r/0", ["4", "99"], correct=False)],
        [verifier("q/0", 2, 0, ["6"], correct=False), verifier("r/0", 1, 0, ["4"], correct=False)],
    )
    got = given.sql("sorm_labels", incomplete="drop")
    assert sorted({row["rollout_id"] for row in got}) == ["r/0"]
    assert labels_of(got, "r/0") == [0, 0]


def test_output_schema_and_order(inputs):
    from factory.catalogue import SCHEMAS
    from factory.duck import connect, run_sql

    given = inputs([rollout("q/1", ["12"], correct=True), rollout("q/0", ["3", "12"], correct=True)])
    connection = connect()
    table = run_sql(connection, "sorm_labels", given.made(connection))
    assert table.schema == SCHEMAS["sorm_labels"]
    assert [(r["rollout_id"], r["step"]) for r in table.to_pylist()] == [("q/0", 1), ("q/0", 2), ("q/1", 1)]
