"""Threshold-free measures of a scorer, and bootstrap intervals over questions.

A reward model is useful when it ranks correct solutions above incorrect ones; accuracy at
one threshold hides that. Every measure here is a plain function of plain lists, and every
interval resamples whole questions, since the samples of one question are not independent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

import numpy as np


def _wins(positive: np.ndarray, negative: np.ndarray) -> float:
    """Pairs (p, n) with p > n, ties counted half: the Mann-Whitney U of `positive`."""
    if not len(positive) or not len(negative):
        return 0.0
    ordered = np.sort(negative)
    below = np.searchsorted(ordered, positive, side="left")
    at_or_below = np.searchsorted(ordered, positive, side="right")
    return float(below.sum() + 0.5 * (at_or_below - below).sum())


def _clean(scores: Sequence[float]) -> np.ndarray:
    # a solution the model could not score (no steps, past its context) ranks lowest
    values = np.asarray(scores, dtype=float)
    return np.where(np.isnan(values), -np.inf, values)


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """P(score of a random positive > score of a random negative), ties counting half;
    None without both classes."""
    values, truth = _clean(scores), np.asarray(labels, dtype=bool)
    pairs = int(truth.sum() * (~truth).sum())
    return _wins(values[truth], values[~truth]) / pairs if pairs else None


def question_pairs(scores: Sequence[float], labels: Sequence[bool], groups: Sequence[Hashable]) -> dict:
    """Per group: (wins, pairs) over its (correct, incorrect) pairs; the pieces of
    within_group_auc, kept apart so that a bootstrap can resample groups cheaply."""
    values, truth = _clean(scores), np.asarray(labels, dtype=bool)
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    result = {}
    for group, indices in members.items():
        rows = np.asarray(indices)
        positive, negative = values[rows][truth[rows]], values[rows][~truth[rows]]
        result[group] = (_wins(positive, negative), int(len(positive) * len(negative)))
    return result


def within_group_auc(scores: Sequence[float], labels: Sequence[bool], groups: Sequence[Hashable]) -> float | None:
    """AUC over pairs of one correct and one incorrect solution *of the same question*: whether
    the scorer ranks solutions, not questions by difficulty. Pairs are pooled over questions
    (a question with more mixed pairs weighs more); None without any such pair."""
    pieces = question_pairs(scores, labels, groups).values()
    pairs = sum(p for _, p in pieces)
    return sum(w for w, _ in pieces) / pairs if pairs else None


def balanced_accuracy(predicted: Sequence[bool], truth: Sequence[bool]) -> float | None:
    """Mean of the true-positive and true-negative rates; None without both classes."""
    pairs = list(zip(predicted, truth))
    positives = [p for p, t in pairs if t]
    negatives = [p for p, t in pairs if not t]
    if not positives or not negatives:
        return None
    return (sum(positives) / len(positives) + sum(not p for p in negatives) / len(negatives)) / 2


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float | None], n_groups: int, *, resamples: int, seed: int,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile interval of `statistic(indices)` over resamples of the groups (questions)
    with replacement; resamples where the statistic is undefined are skipped."""
    if n_groups == 0:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        value = statistic(rng.integers(0, n_groups, n_groups))
        if value is not None and not math.isnan(value):
            values.append(value)
    if not values:
        return None
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)
