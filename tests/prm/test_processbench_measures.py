"""ProcessBench's measures on hand-made step scores whose results are known by hand."""

from __future__ import annotations

import math

import pytest

from factory.processbench import drafts_score, first_error_index, predicted_index, subset_scores

# true first-error index, step scores; at threshold 0.5 the predictions are -1, 1, 1, 0, 0
TRUTH = [-1, -1, 1, 2, 0]
SCORES = [[0.9, 0.8], [0.9, 0.2], [0.9, 0.2, 0.9], [0.4, 0.9, 0.1], [0.1]]


def test_first_error_and_prediction_indices():
    assert first_error_index([True, True, False, False]) == 2
    assert first_error_index([True, True]) == -1
    assert predicted_index([0.6, 0.5, 0.1], 0.5) == 1  # at the threshold counts as wrong
    assert predicted_index([0.6, 0.7], 0.5) == -1
    assert predicted_index([math.nan, 0.2], 0.5) == 1  # an unscored step is not flagged


def test_subset_measures_match_the_hand_count():
    result = subset_scores(TRUTH, SCORES, 0.5)
    # erroneous: predicted 1 == 1, 0 != 2, 0 == 0 -> 2/3; correct: -1 yes, 1 no -> 1/2
    assert result["error_accuracy"] == pytest.approx(0.6667)
    assert result["correct_accuracy"] == 0.5
    assert result["f1"] == pytest.approx(4 / 7, abs=1e-4)  # 2 * (2/3) * (1/2) / (2/3 + 1/2)
    # positives: 0.9 0.8 | 0.9 0.2 | 0.9 | 0.4 0.9; negatives: 0.2 0.1 0.1 (the last step of row 3 left out)
    # every positive beats every negative except 0.2 vs 0.2 (a tie, half): 20.5 of 21 pairs
    assert result["step_auc"] == pytest.approx(20.5 / 21, abs=1e-4)
    assert (result["samples"], result["erroneous"], result["unscored_steps"]) == (5, 3, 0)


def test_subset_without_erroneous_samples_has_no_error_accuracy_nor_f1():
    result = subset_scores([-1, -1], [[0.9], [0.4, 0.9]], 0.5)
    assert result["correct_accuracy"] == 0.5
    assert result["error_accuracy"] is None and result["f1"] is None and result["step_auc"] is None


def test_f1_is_zero_when_both_accuracies_are():
    result = subset_scores([-1, 0], [[0.1], [0.9]], 0.5)
    assert (result["error_accuracy"], result["correct_accuracy"], result["f1"]) == (0.0, 0.0, 0.0)


def test_drafts_score_uses_the_exact_truth_and_skips_drafts_without_it():
    drafts = [{"exact_labels": [True, False]}, {"exact_labels": [True, True]}, {"exact_labels": None}]
    scores = [[0.9, 0.1], [0.9, 0.9], [0.1]]
    result = drafts_score(scores, drafts, 0.5)
    assert (result["samples"], result["erroneous"], result["f1"]) == (2, 1, 1.0)
    assert drafts_score([[0.5]], [{"exact_labels": None}], 0.5) is None
