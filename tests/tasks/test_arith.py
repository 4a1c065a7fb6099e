from __future__ import annotations

import pytest

from factory.params import TaskParams
from factory.tasks import get_task
from factory.tasks.arith import prefix_validity

PARAMS = TaskParams(seed=3, n_train=60, n_test=20, min_steps=2, max_steps=5)


def test_same_seed_same_questions_and_other_seed_differs():
    first = get_task("arith", PARAMS).load("train")
    again = get_task("arith", PARAMS).load("train")
    other = get_task("arith", TaskParams(seed=4, n_train=60, n_test=20, max_steps=5)).load("train")
    assert first.equals(again)
    assert first.column("question").to_pylist() != other.column("question").to_pylist()


def test_splits_are_disjoint_and_sized():
    task = get_task("arith", PARAMS)
    train, test = task.load("train"), task.load("test")
    assert (train.num_rows, test.num_rows) == (60, 20)
    assert not set(train.column("question").to_pylist()) & set(test.column("question").to_pylist())
    assert test.column("question_id").to_pylist()[0] == "arith-test-00000"


def test_solutions_have_two_to_five_gsm8k_steps_that_reach_the_answer():
    task = get_task("arith", PARAMS)
    rows = task.load("train").to_pylist()
    lengths = {len(row["solution"]) for row in rows}
    assert lengths <= {2, 3, 4, 5} and len(lengths) >= 3
    for row in rows:
        assert all("<<" in step and ">>" in step for step in row["solution"])
        assert task.step_result(row["solution"][-1]) == row["answer"]
        assert all(prefix_validity(row["question"], row["solution"], row["solution"]))
        text = "\n".join(row["solution"]) + f"\n#### {row['answer']}"
        assert task.split_steps(text) == row["solution"]
        assert task.is_correct(text, row["answer"])


QUESTION = "Ava bakes 3 trays of cookies with 12 cookies on each tray. She eats 5 of the cookies. How many cookies does Ava have now?"
REFERENCE = ["Ava has 3 * 12 = <<3*12=36>>36 cookies.", "So she has 36 - 5 = <<36-5=31>>31 cookies left."]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (REFERENCE, [True, True]),
        # arithmetic slip in step 1 poisons every later prefix, even a correctly computed step 2
        (["Ava has 3 * 12 = <<3*12=38>>38 cookies.", "So she has 38 - 5 = <<38-5=33>>33 cookies left."],
         [False, False]),
        # copy error: 13 is not a number of the problem
        (["Ava has 3 * 13 = <<3*13=39>>39 cookies.", "So she has 39 - 5 = <<39-5=34>>34 cookies left."],
         [False, False]),
        # right first step, wrong operation in the second
        (["Ava has 3 * 12 = <<3*12=36>>36 cookies.", "So she has 36 + 5 = <<36+5=41>>41 cookies."], [True, False]),
        # the visible number contradicts the calculator annotation
        (["Ava has 3 * 12 = <<3*12=36>>63 cookies.", REFERENCE[1]], [False, False]),
        # a step with no calculation at all
        (["Ava likes cookies.", REFERENCE[1]], [False, False]),
        # a malformed expression
        (["Ava has 3 ** = <<3**=36>>36 cookies."], [False]),
    ],
)
def test_exact_step_truth_on_hand_made_solutions(steps, expected):
    assert prefix_validity(QUESTION, REFERENCE, steps) == expected


def test_bad_knobs_are_rejected():
    with pytest.raises(ValueError, match="min_steps"):
        TaskParams(min_steps=1)
    with pytest.raises(ValueError, match="max_steps"):
        TaskParams(min_steps=4, max_steps=3)


def test_pretraining_problems_are_fresh_solved_and_seeded():
    task = get_task("arith", TaskParams(n_train=50, n_test=20, n_dev=5))
    taken = {q["question"] for split in ("train", "test") for q in task.load(split).to_pylist()}
    problems = task.fresh_problems(200, seed=1, exclude=taken)
    assert len({question for question, _ in problems}) == 200
    assert not {question for question, _ in problems} & taken
    assert problems == task.fresh_problems(200, seed=1, exclude=taken)
    assert problems != task.fresh_problems(200, seed=2, exclude=taken)
    question, solution = problems[0]
    *steps, answer_line = solution.split("\n")
    assert answer_line.startswith("#### ") and all(task.prefix_validity(question, steps, steps))


def test_reference_steps_are_worded_more_than_one_way():
    task = get_task("arith", TaskParams(n_train=300, n_test=10, n_dev=5))
    openings = {q["solution"][0].split(" ")[0] for q in task.load("train").to_pylist()}
    assert {"She", "He", "At"} & openings and len(openings) > 3
