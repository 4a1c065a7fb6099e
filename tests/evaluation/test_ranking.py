"""Threshold-free measures and bootstrap intervals on hand-made inputs with known answers."""

from __future__ import annotations

import math

import numpy as np

from factory.ranking import auc, balanced_accuracy, bootstrap_interval, question_pairs, within_group_auc


def test_auc_counts_ties_as_half():
    # positives 0.9 and 0.5; negatives 0.5 and 0.1: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1) = 3.5 / 4
    assert auc([0.9, 0.5, 0.5, 0.1], [True, True, False, False]) == 0.875


def test_auc_of_a_constant_scorer_is_one_half_and_needs_both_classes():
    assert auc([0.3] * 4, [True, False, True, False]) == 0.5
    assert auc([0.1, 0.2], [True, True]) is None


def test_auc_ranks_an_unscored_solution_lowest():
    assert auc([math.nan, 0.2], [False, True]) == 1.0


def test_within_group_auc_ignores_what_separates_the_groups():
    # question a is easy (high scores, mostly correct), b hard; inside each question the scorer
    # ranks the incorrect solution first, so it ranks questions, not solutions
    scores = [0.9, 0.8, 0.95, 0.2, 0.1, 0.3]
    labels = [True, True, False, True, False, False]
    groups = ["a", "a", "a", "b", "b", "b"]
    assert auc(scores, labels) > 0.5
    # a: (0.9, 0.8) vs 0.95 -> 0 wins of 2; b: 0.2 vs (0.1, 0.3) -> 1 win of 2
    assert question_pairs(scores, labels, groups) == {"a": (0.0, 2), "b": (1.0, 2)}
    assert within_group_auc(scores, labels, groups) == 0.25


def test_within_group_auc_needs_a_question_with_both_kinds():
    assert within_group_auc([0.1, 0.9], [True, False], ["a", "b"]) is None


def test_balanced_accuracy_weighs_both_classes_equally():
    # 3 of 3 positives right, 0 of 1 negative: plain accuracy 0.75, balanced 0.5
    assert balanced_accuracy([True, True, True, True], [True, True, True, False]) == 0.5
    assert balanced_accuracy([True], [True]) is None


def test_bootstrap_interval_covers_a_known_difference_and_is_reproducible():
    rng = np.random.default_rng(0)
    # 400 questions; method B is right 10 points more often than method A
    a = rng.random(400) < 0.5
    b = a | (rng.random(400) < 0.2)
    difference = float(b.mean() - a.mean())

    def statistic(indices):
        return float(b[indices].mean() - a[indices].mean())

    low, high = bootstrap_interval(statistic, 400, resamples=500, seed=1)
    assert low < difference < high
    assert 0 < low and high - low < 0.1
    assert bootstrap_interval(statistic, 400, resamples=500, seed=1) == (low, high)


def test_bootstrap_interval_skips_undefined_resamples():
    values = iter([None, 1.0, None, 3.0] * 10)
    low, high = bootstrap_interval(lambda _: next(values), 5, resamples=40, seed=0)
    # 20 defined values, ten 1s and ten 3s: the 2.5% and 97.5% quantiles are the two values
    assert (low, high) == (1.0, 3.0)
