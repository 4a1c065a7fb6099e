from __future__ import annotations

import math

import pytest

from factory.metrics import (
    binary_report,
    best_index,
    first_bad_step,
    majority_answer,
    share,
    solution_score,
    value_bad_step,
)


def test_majority_vote_normalises_numbers_and_breaks_ties_by_order():
    assert majority_answer(["18", "7", "18.0", "$7", None]) == "18"
    assert majority_answer(["3", "4"]) == "3"
    assert majority_answer([None, None]) is None


def test_pass_and_maj_at_k_from_a_fixed_table():
    # question -> (reference, K=4 sample answers)
    table = {"a": ("5", ["5", "6", "6", "6"]), "b": ("2", ["2", "2", "1", "2"]), "c": ("9", ["1", "2", "3", "4"])}
    pass_k = share([any(s == ref for s in samples) for ref, samples in table.values()])
    maj_k = share([majority_answer(samples) == ref for ref, samples in table.values()])
    assert (pass_k, maj_k) == (round(2 / 3, 4), round(1 / 3, 4))


def test_reranker_picks_the_highest_score_and_ignores_nan():
    assert best_index([0.2, 0.9, 0.4]) == 1
    assert best_index([0.5, 0.5]) == 0
    assert best_index([math.nan, 0.1]) == 1


@pytest.mark.parametrize(
    ("how", "expected"),
    [("final", 0.5), ("mean", 0.6), ("min", 0.4), ("product", 0.9 * 0.4 * 0.5), ("penultimate", 0.45),
     # appendix D: weights 1/3, 1/2, 1 for steps 1, 2, 3 of 3
     ("weighted_mean", (0.9 / 3 + 0.4 / 2 + 0.5) / (1 / 3 + 1 / 2 + 1))],
)
def test_solution_score_heuristics(how, expected):
    assert solution_score([0.9, 0.4, 0.5], how) == pytest.approx(expected)


def test_solution_score_of_nothing_is_nan():
    assert math.isnan(solution_score([]))
    assert math.isnan(solution_score([0.3, math.nan]))


def test_penultimate_of_one_step_is_that_step():
    assert solution_score([0.7], "penultimate") == pytest.approx(0.7)


def test_value_bad_step_goes_after_the_highest_value_ties_to_the_later_step():
    assert value_bad_step([0.2, 0.9, 0.4]) == 3
    assert value_bad_step([0.8, 0.8, 0.1]) == 3  # tie between steps 1 and 2: the later one
    assert value_bad_step([0.1, 0.9]) is None  # the last step is the best: nothing to redo
    assert value_bad_step([math.nan, 0.5]) is None


def test_first_bad_step_uses_at_or_below():
    assert first_bad_step([0.9, 0.5, 0.1], 0.5) == 2
    assert first_bad_step([0.9, 0.8], 0.5) is None


def test_binary_report_rates():
    report = binary_report([True, True, False, False, True], [True, False, False, True, True])
    assert report == {"n": 5, "accuracy": 0.6, "false_positive_rate": 0.5, "false_negative_rate": round(1 / 3, 4)}
