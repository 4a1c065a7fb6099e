"""The paper's measures as plain functions on plain lists, so each can be checked by hand."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from factory.tasks.answers import normalise_number


def majority_answer(answers: Sequence[str | None]) -> str | None:
    """maj@K's vote: the most common answer (numerically normalised); ties go to the earliest."""
    votes = [normalise_number(a) for a in answers if a is not None]
    votes = [v for v in votes if v is not None]
    if not votes:
        return None
    counts = Counter(votes)
    best = max(counts.values())
    return next(v for v in votes if counts[v] == best)


def best_index(scores: Sequence[float]) -> int:
    """The reranker's pick: the highest score (NaN counts as lowest); ties go to the earliest."""
    cleaned = [-math.inf if math.isnan(s) else s for s in scores]
    return max(range(len(cleaned)), key=lambda i: (cleaned[i], -i))


def _weighted_mean(scores: Sequence[float]) -> float:
    # appendix D: step i of L weighs 1 / (L - i + 1), so the last step weighs 1, the one before
    # it 1/2, and so on: later steps see more of the solution
    weights = [1 / (len(scores) - i) for i in range(len(scores))]
    return sum(w * s for w, s in zip(weights, scores)) / sum(weights)


def _penultimate(scores: Sequence[float]) -> float:
    # appendix D: the mean of the last two step scores (the last alone for a one-step solution)
    return sum(scores[-2:]) / len(scores[-2:])


AGGREGATORS: dict[str, Callable[[Sequence[float]], float]] = {
    "final": lambda scores: scores[-1],
    "mean": lambda scores: sum(scores) / len(scores),
    "weighted_mean": _weighted_mean,
    "min": min,
    "product": math.prod,
    "penultimate": _penultimate,
}


def solution_score(step_scores: Sequence[float], how: str = "final") -> float:
    """One score per solution from its step scores (appendix D); a solution without steps, or
    with steps past the model's context, scores NaN."""
    if not step_scores or any(math.isnan(s) for s in step_scores):
        return math.nan
    return AGGREGATORS[how](step_scores)


def value_bad_step(step_scores: Sequence[float]) -> int | None:
    """Value refinement (appendix J): `[BAD]` goes after the step of highest value, ties to the
    later step (as in training: it keeps more of the draft); None when that is the last step."""
    if not step_scores or any(math.isnan(s) for s in step_scores):
        return None
    best = max(range(len(step_scores)), key=lambda i: (step_scores[i], i)) + 1
    return best + 1 if best < len(step_scores) else None


def first_bad_step(step_scores: Sequence[float], threshold: float) -> int | None:
    """Where to put `[BAD]`: the first step (1-based) scored at or below `threshold`."""
    for number, score in enumerate(step_scores, start=1):
        if score <= threshold:
            return number
    return None


def binary_report(predicted: Sequence[bool], truth: Sequence[bool]) -> dict:
    """Accuracy, false-positive and false-negative rates, `True` meaning "correct"."""
    pairs = list(zip(predicted, truth))
    positives = sum(t for _, t in pairs)
    negatives = len(pairs) - positives
    false_positive = sum(p and not t for p, t in pairs)
    false_negative = sum(t and not p for p, t in pairs)
    return {
        "n": len(pairs),
        "accuracy": _share(sum(p == t for p, t in pairs), len(pairs)),
        "false_positive_rate": _share(false_positive, negatives),
        "false_negative_rate": _share(false_negative, positives),
    }


def share(flags: Sequence[bool]) -> float | None:
    return _share(sum(flags), len(flags))


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None
