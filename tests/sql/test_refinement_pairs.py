"""Given/expect tests of the refinement pairs: sql/refine_global.sql, sql/refine_local.sql and
sql/refine_value.sql, edge cases included."""

from __future__ import annotations

from sql_inputs import rollout, verifier


def global_inputs(inputs):
    return inputs([
        rollout("q/0", ["3", "99"], correct=False),
        rollout("q/1", ["4", "98"], correct=False, answer="98"),
        # q/2 and q/3 read alike: one target text, named q/2
        rollout("q/2", ["3", "12"], correct=True, steps=["same", "text"]),
        rollout("q/3", ["3", "12"], correct=True, steps=["same", "text"]),
        rollout("q/4", ["6", "12"], correct=True),
        rollout("q/5", ["2", "12"], correct=True),
        # r: correct rollouts only; s: incorrect only, so no target anywhere
        rollout("r/0", ["12"], correct=True),
        rollout("s/0", ["99"], correct=False),
    ])


def test_global_pairs_join_each_incorrect_rollout_to_distinct_correct_texts_of_its_question(inputs):
    got = global_inputs(inputs).sql("refine_global", max_targets_per_draft=5)
    assert [(row["draft_rollout_id"], row["target_rollout_id"]) for row in got] == [
        ("q/0", "q/2"), ("q/0", "q/4"), ("q/0", "q/5"), ("q/1", "q/2"), ("q/1", "q/4"), ("q/1", "q/5")]
    first = got[0]
    assert first["question_id"] == "q" and first["draft"] == ["q/0 step 1", "q/0 step 2"]
    assert (first["draft_answer"], first["target"], first["target_answer"]) == ("99", ["same", "text"], "12")


def test_global_pairs_keep_at_most_max_targets_per_draft_by_seed(inputs):
    given = global_inputs(inputs)
    picks = set()
    for seed in range(6):
        got = given.sql("refine_global", max_targets_per_draft=1, seed=seed)
        assert [row["draft_rollout_id"] for row in got] == ["q/0", "q/1"]
        assert got == given.sql("refine_global", max_targets_per_draft=1, seed=seed)
        picks.add(tuple(row["target_rollout_id"] for row in got))
    assert len(picks) > 1


def local_inputs(inputs):
    rollouts = [
        # bad_step 3: step 2 reaches the answer (v1, v2 count; v0 ignores step 2's result 6)
        rollout("q/0", ["3", "6", "99"], correct=False),
        # first step wrong: no verifier of step 1 reaches the answer
        rollout("q/1", ["4", "99"], correct=False),
        # a one-step solution: its only step is its last, so bad_step 1 with no verifiers
        rollout("q/2", ["99"], correct=False),
        rollout("q/5", ["3", "12"], correct=True),
        # no correct continuation and no correct rollout anywhere for question r
        rollout("r/0", ["5", "99"], correct=False),
    ]
    verifications = [
        verifier("q/0", 1, 0, ["3"], correct=False),
        verifier("q/0", 2, 0, ["12"], correct=True),
        verifier("q/0", 2, 1, ["6", "12"], correct=True, continuation=["6 + 6 = 12"]),
        verifier("q/0", 2, 2, ["6", "12"], correct=True),
        verifier("q/1", 1, 0, ["4"], correct=False),
        verifier("q/1", 1, 1, ["12"], correct=True),  # right answer, but without step 1's result
        verifier("r/0", 1, 0, ["5"], correct=False),
    ]
    return inputs(rollouts, verifications)


def test_local_pairs_keep_the_steps_before_the_first_error_and_finish_them_correctly(inputs):
    got = {row["draft_rollout_id"]: row for row in local_inputs(inputs).sql("refine_local")}
    assert sorted(got) == ["q/0", "q/1", "q/2"]
    pair = got["q/0"]
    assert pair["bad_step"] == 3
    assert pair["target"] == ["q/0 step 1", "q/0 step 2", "6 + 6 = 12"]
    assert (pair["verifier_idx"], pair["target_rollout_id"], pair["target_answer"]) == (1, None, "12")


def test_local_pairs_with_the_first_step_wrong_target_a_correct_rollout(inputs):
    got = {row["draft_rollout_id"]: row for row in local_inputs(inputs).sql("refine_local")}
    for draft in ("q/1", "q/2"):
        assert got[draft]["bad_step"] == 1
        assert got[draft]["target_rollout_id"] == "q/5" and got[draft]["verifier_idx"] is None
        assert got[draft]["target"] == ["q/5 step 1", "q/5 step 2"]
    # r/0 has nothing correct to aim at: no pair
    assert "r/0" not in got


def value_inputs(inputs):
    rollouts = [
        rollout("q/0", ["3", "6", "9", "99"], correct=False),
        rollout("q/1", ["3", "99"], correct=False),
        rollout("q/2", ["4", "99"], correct=False),
        rollout("q/3", ["3", "12"], correct=True),
    ]
    draft_step_3 = "q/0 step 3"
    verifications = [
        # q/0: steps 1 and 2 each have two counting continuations, step 3 one: the tie goes to step 2
        verifier("q/0", 1, 0, ["3", "12"], correct=True), verifier("q/0", 1, 1, ["3", "12"], correct=True),
        verifier("q/0", 2, 0, ["6", "12"], correct=True, continuation=[draft_step_3, "x"]),  # the draft's path
        verifier("q/0", 2, 1, ["6", "12"], correct=True, continuation=["6 * 2 = 12"]),
        verifier("q/0", 2, 2, ["12"], correct=True),  # ignores step 2's result: does not count
        verifier("q/0", 3, 0, ["9", "12"], correct=True),
        # q/1: the continuation is just the answer line; no first step differs from anything
        verifier("q/1", 1, 0, ["3", "12"], correct=True, continuation=[]),
        # q/2: nothing reaches the answer
        verifier("q/2", 1, 0, ["4"], correct=False),
    ]
    return inputs(rollouts, verifications)


def test_value_pairs_mark_the_step_after_the_highest_value(inputs):
    got = {row["draft_rollout_id"]: row for row in value_inputs(inputs).sql("refine_value")}
    assert sorted(got) == ["q/0", "q/1"]
    pair = got["q/0"]
    assert (pair["bad_step"], pair["verifier_idx"]) == (3, 1)
    assert pair["target"] == ["q/0 step 1", "q/0 step 2", "6 * 2 = 12"]
    assert (got["q/1"]["bad_step"], got["q/1"]["target"]) == (2, ["q/1 step 1"])


def test_value_pairs_only_from_an_exhaustive_search(inputs):
    assert value_inputs(inputs).sql("refine_value", exhaustive=False) == []
