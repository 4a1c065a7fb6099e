"""Given/expect tests of the balanced tables: sql/sorm_steps.sql (rule 3, per step number) and
sql/orm_balanced_steps.sql (per question)."""

from __future__ import annotations

from collections import Counter

from sql_inputs import rollout, verifier


def sorm_inputs(inputs, order=1):
    """Step 1: 7 positives, 2 negatives; step 2: 6 positives, 3 negatives."""
    rollouts = [rollout(f"c/{i}", ["3", "12"], correct=True) for i in range(6)]
    rollouts += [rollout("n/0", ["3", "99"], correct=False), rollout("n/1", ["3", "99"], correct=False),
                 rollout("p/0", ["3", "99"], correct=False)]
    verifications = [verifier("n/0", 1, 0, ["3"], correct=False), verifier("n/1", 1, 0, ["3"], correct=False),
                     verifier("p/0", 1, 0, ["3", "12"], correct=True)]
    return inputs(rollouts[::order], verifications[::order])


def test_sorm_steps_keep_as_many_positives_as_negatives_at_every_step(inputs):
    got = sorm_inputs(inputs).sql("sorm_steps")
    assert Counter((row["step"], row["label"]) for row in got) == {(1, 1): 2, (1, 0): 2, (2, 1): 3, (2, 0): 3}
    # the scarce class is kept whole
    assert {row["rollout_id"] for row in got if row["label"] == 0} == {"n/0", "n/1", "p/0"}
    # the rows keep their sorm_labels columns
    assert {row["n_verifiers"] for row in got if row["rollout_id"] == "p/0" and row["step"] == 1} <= {1}


def test_sorm_steps_are_the_same_under_the_same_seed_whatever_the_file_order(inputs):
    assert sorm_inputs(inputs).sql("sorm_steps", seed=3) == sorm_inputs(inputs, order=-1).sql("sorm_steps", seed=3)


def test_a_different_seed_picks_different_steps(inputs):
    given = sorm_inputs(inputs)
    picks = {tuple(sorted((r["rollout_id"], r["step"]) for r in given.sql("sorm_steps", seed=seed) if r["label"]))
             for seed in range(5)}
    assert len(picks) > 1


def test_sorm_steps_empty_where_a_class_is_missing(inputs):
    given = inputs([rollout("c/0", ["3", "12"], correct=True)])
    assert given.sql("sorm_steps") == []


def orm_inputs(inputs, order=1):
    rollouts = [
        # q: 3 correct, 1 incorrect -> one of each
        rollout("q/0", ["3", "12"], correct=True), rollout("q/1", ["3", "12"], correct=True),
        rollout("q/2", ["3", "12"], correct=True), rollout("q/3", ["4", "5", "99"], correct=False),
        # r: all correct -> nothing
        rollout("r/0", ["12"], correct=True),
        # s: two of each -> all; a rollout without steps does not count for its side
        rollout("s/0", ["12"], correct=True), rollout("s/1", ["12"], correct=True),
        rollout("s/2", ["9"], correct=False), rollout("s/3", ["9"], correct=False),
        rollout("s/4", [], correct=False),
    ]
    return inputs(rollouts[::order])


def test_orm_balanced_steps_keep_as_many_correct_as_incorrect_rollouts_per_question(inputs):
    got = orm_inputs(inputs).sql("orm_balanced_steps")
    kept = {(row["rollout_id"], row["label"]) for row in got}
    assert Counter((rollout_id[0], label) for rollout_id, label in kept) == {
        ("q", 1): 1, ("q", 0): 1, ("s", 1): 2, ("s", 0): 2}
    # every step of a kept rollout, labelled with the rollout's correctness
    assert [(row["step"], row["label"]) for row in got if row["rollout_id"] == "q/3"] == [(1, 0), (2, 0), (3, 0)]


def test_orm_balanced_steps_are_seeded(inputs):
    given = orm_inputs(inputs)
    assert given.sql("orm_balanced_steps", seed=1) == orm_inputs(inputs, order=-1).sql("orm_balanced_steps", seed=1)
    chosen = {next(r["rollout_id"] for r in given.sql("orm_balanced_steps", seed=seed) if r["rollout_id"][0] == "q"
                   and r["label"] == 1) for seed in range(8)}
    assert len(chosen) > 1
