"""ProcessBench (Zheng et al., 2024): its format and its measures, as plain functions.

A row is a solution: `id`, `problem`, `steps` (list of str), `label` (0-based index of the
earliest wrong step, -1 when every step is correct) and `final_answer_correct`. A model's
prediction is the first step it scores at or below the threshold, else -1. Per subset:
accuracy on erroneous samples (the predicted index is the true one), on correct samples
(predicted -1), F1 their harmonic mean, and the threshold-free step AUC (steps before the first
error positive, the first error negative, later steps left out: nothing is known of them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from factory.ranking import auc


def first_error_index(valid: Sequence[bool]) -> int:
    """0-based index of the first invalid step, -1 when all are valid."""
    return next((index for index, ok in enumerate(valid) if not ok), -1)


def predicted_index(scores: Sequence[float], threshold: float) -> int:
    """The first step scored at or below `threshold`, -1 if none; a step the model could not
    score (NaN, past its context) is not flagged: it is counted apart as unscored."""
    return next((index for index, score in enumerate(scores) if score <= threshold), -1)


def _mean(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def subset_scores(truth: Sequence[int], step_scores: Sequence[Sequence[float]], threshold: float) -> dict:
    """ProcessBench's measures of one subset from each sample's true first-error index and step
    scores. Error accuracy (and so F1) is None for a subset without an erroneous sample, as is
    correct accuracy without a correct one."""
    predicted = [predicted_index(scores, threshold) for scores in step_scores]
    error_accuracy = _mean([p == t for t, p in zip(truth, predicted) if t != -1])
    correct_accuracy = _mean([p == -1 for t, p in zip(truth, predicted) if t == -1])
    f1 = None
    if error_accuracy is not None and correct_accuracy is not None:
        total = error_accuracy + correct_accuracy
        f1 = 2 * error_accuracy * correct_accuracy / total if total else 0.0
    pairs = [(score, index < first or first == -1)
             for first, scores in zip(truth, step_scores)
             for index, score in enumerate(scores) if first == -1 or index <= first]
    step_auc = auc([s for s, _ in pairs], [t for _, t in pairs])
    return {
        "samples": len(truth),
        "erroneous": sum(t != -1 for t in truth),
        "error_accuracy": _round(error_accuracy),
        "correct_accuracy": _round(correct_accuracy),
        "f1": _round(f1),
        "step_auc": _round(step_auc),
        "unscored_steps": sum(math.isnan(s) for scores in step_scores for s in scores),
    }


def drafts_score(step_scores: Sequence[Sequence[float]], drafts: Sequence[dict], threshold: float) -> dict | None:
    """subset_scores of drafts (rows of the drafts table) against their exact prefix truth;
    None where the task has none."""
    known = [(scores, draft["exact_labels"]) for scores, draft in zip(step_scores, drafts)
             if draft["exact_labels"]]
    if not known:
        return None
    return subset_scores([first_error_index(exact) for _, exact in known],
                         [scores[: len(exact)] for scores, exact in known], threshold)
