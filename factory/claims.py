"""The paper's claims, each measured on our test questions with a 95% bootstrap interval.

A claim holds only when its whole interval lies on the side the paper claims (above zero for a
difference); a point estimate on the right side with an interval across zero does not hold.
Every interval resamples test questions, so the samples, steps and refinements of one question
stay together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from factory.ranking import auc, bootstrap_interval, question_pairs


@dataclass(frozen=True)
class QuestionRecords:
    """What evaluate measured, one entry per test question (index i is question i)."""

    greedy_correct: list[bool]
    reranked_correct: list[bool]  # the ORM's pick among draft + global + local refinement
    rerank_k_correct: list[bool]  # the ORM's pick among the K student samples
    sample_correct: list[list[bool]]  # the K samples of each question
    sample_orm: list[list[float]]  # the ORM's solution score of each sample
    sample_likelihood: list[list[float]]  # the student's mean token log-probability of each sample
    step_truth: list[list[bool]]  # exact validity of each draft prefix (empty where unknown)
    step_orm: list[list[float]]
    step_sorm: list[list[float]]
    draft_orm: list[float]  # solution scores of the greedy draft
    draft_sorm: list[float]
    fixed_global: list[bool]  # an incorrect draft made correct by global refinement
    fixed_local: list[bool]  # ... by local refinement (SORM-localised)


Statistic = Callable[[np.ndarray], "float | None"]  # of the rows (question indices) of one resample


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    paper: str
    statistic: Callable[[QuestionRecords], Statistic]  # what does not change between resamples, computed once


def _points(value: float) -> float:
    return 100 * value


def _mean_difference(a: str, b: str) -> Callable[[QuestionRecords], Statistic]:
    def prepare(records: QuestionRecords) -> Statistic:
        difference = np.asarray(getattr(records, a), dtype=float) - np.asarray(getattr(records, b), dtype=float)
        return lambda rows: _points(float(difference[rows].mean()))
    return prepare


def _within_auc_difference(records: QuestionRecords) -> Statistic:
    """Within-question AUC of the ORM minus that of the student's likelihood."""
    questions = [i for i, row in enumerate(records.sample_correct) for _ in row]
    correct = [c for row in records.sample_correct for c in row]

    def pieces(scores: list[list[float]]) -> np.ndarray:
        """(wins, pairs) of each question, in question order."""
        by_question = question_pairs([s for row in scores for s in row], correct, questions)
        return np.array([by_question.get(i, (0.0, 0)) for i in range(len(scores))], dtype=float).reshape(-1, 2)

    orm, likelihood = pieces(records.sample_orm), pieces(records.sample_likelihood)

    def statistic(rows: np.ndarray) -> float | None:
        pairs = orm[rows, 1].sum()
        return float((orm[rows, 0].sum() - likelihood[rows, 0].sum()) / pairs) if pairs else None
    return statistic


def _auc_difference(first: str, second: str, *, steps: bool) -> Callable[[QuestionRecords], Statistic]:
    def prepare(records: QuestionRecords) -> Statistic:
        if steps:
            truth, a, b = records.step_truth, getattr(records, first), getattr(records, second)
        else:  # one "step" per question: the draft's final score against its correctness
            truth = [[t] for t in records.greedy_correct]
            a, b = [[s] for s in getattr(records, first)], [[s] for s in getattr(records, second)]

        def statistic(rows: np.ndarray) -> float | None:
            labels = [t for i in rows for t in truth[i]]
            first_auc = auc([s for i in rows for s in a[i]], labels)
            second_auc = auc([s for i in rows for s in b[i]], labels)
            return None if first_auc is None or second_auc is None else first_auc - second_auc
        return statistic
    return prepare


def _complementary(records: QuestionRecords) -> Statistic:
    """Each refinement fixes drafts the other does not: the smaller of the two counts of drafts
    fixed by one refinement only, as a share of those fixed by either. (Drafts fixed by exactly
    one of them would read 100% when one refinement fixes nothing at all.)"""
    fixed_global, fixed_local = np.asarray(records.fixed_global, bool), np.asarray(records.fixed_local, bool)

    def statistic(rows: np.ndarray) -> float | None:
        g, local = fixed_global[rows], fixed_local[rows]
        either = (g | local).sum()
        return _points(float(min((g & ~local).sum(), (local & ~g).sum()) / either)) if either else None
    return statistic


CLAIMS = (
    Claim("rerank_beats_greedy",
          "ORM reranking of draft + global + local refinement is more accurate than the greedy draft "
          "(points of accuracy, reranked minus greedy)",
          "+12 points: 53% -> 65% (Llama-2 13B, GSM8K)", _mean_difference("reranked_correct", "greedy_correct")),
    Claim("orm_rerank_beats_greedy",
          "ORM reranking of K student samples is more accurate than the greedy draft (points, rerank@K minus greedy)",
          "rerank@96 above maj@1 for every model (Table 5)", _mean_difference("rerank_k_correct", "greedy_correct")),
    Claim("orm_ranks_solutions",
          "the ORM ranks a question's correct samples above its incorrect ones better than the student's own "
          "likelihood does (within-question AUC, ORM minus likelihood)",
          "implied: ORM reranking beats sampling (Table 5)", _within_auc_difference),
    Claim("sorm_beats_orm_steps",
          "the SORM judges intermediate steps better than the ORM (step AUC against the exact step truth, "
          "SORM minus ORM)",
          "SORM step accuracy above ORM's (Table 1)", _auc_difference("step_sorm", "step_orm", steps=True)),
    Claim("orm_beats_sorm_final",
          "the ORM judges final answers better than the SORM (final-answer AUC on the drafts, ORM minus SORM)",
          "ORM final-answer accuracy above SORM's (Table 2)", _auc_difference("draft_orm", "draft_sorm", steps=False)),
    Claim("global_local_complementary",
          "global and local refinement each fix drafts the other does not (of the incorrect drafts fixed by "
          "either, the share fixed by the one that fixes fewer on its own, in points)",
          "complementary: each fixes drafts the other does not (Figure 3)", _complementary),
)


def measure_claims(records: QuestionRecords, *, resamples: int, seed: int) -> list[dict]:
    """One object per claim: {id, claim, ours, ci95, paper, holds}; `holds` when the whole
    95% interval is above zero."""
    questions = len(records.greedy_correct)
    everything = np.arange(questions)
    result = []
    for claim in CLAIMS:
        statistic = claim.statistic(records)
        ours = statistic(everything)
        interval = bootstrap_interval(statistic, questions, resamples=resamples, seed=seed)
        result.append({
            "id": claim.id,
            "claim": claim.claim,
            "ours": None if ours is None else round(ours, 4),
            "ci95": None if interval is None else [round(interval[0], 4), round(interval[1], 4)],
            "paper": claim.paper,
            "holds": bool(ours is not None and interval is not None and interval[0] > 0),
        })
    return result
