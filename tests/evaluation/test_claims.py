"""The claims file: its format, and each claim's figure on hand-made records with known answers."""

from __future__ import annotations

import json

from factory.claims import CLAIMS, QuestionRecords, measure_claims


def records(n_copies: int = 10) -> QuestionRecords:
    """Four kinds of question, each repeated: the ORM ranks samples well, the likelihood
    badly; reranking fixes two of four greedy drafts; the SORM judges steps, the ORM answers."""
    base = {
        "greedy_correct": [True, False, False, True],
        "reranked_correct": [True, True, True, True],
        "rerank_k_correct": [True, True, False, True],
        "sample_correct": [[True, False], [True, False], [False, False], [True, True]],
        "sample_orm": [[0.9, 0.1], [0.8, 0.2], [0.5, 0.4], [0.7, 0.7]],
        "sample_likelihood": [[-2.0, -1.0], [-1.0, -1.0], [-1.0, -2.0], [-1.0, -1.0]],
        "step_truth": [[True, True], [True, False], [False, False], [True, True]],
        "step_orm": [[0.6, 0.9], [0.7, 0.2], [0.8, 0.1], [0.5, 0.8]],
        "step_sorm": [[0.9, 0.9], [0.8, 0.1], [0.2, 0.1], [0.7, 0.9]],
        "draft_orm": [0.9, 0.2, 0.1, 0.8],
        "draft_sorm": [0.9, 0.1, 0.95, 0.9],
        "fixed_global": [False, False, True, False],
        "fixed_local": [False, True, False, False],
    }
    return QuestionRecords(**{name: value * n_copies for name, value in base.items()})


def test_claims_file_has_one_object_per_claim_in_the_documented_format():
    claims = measure_claims(records(), resamples=200, seed=0)
    assert [c["id"] for c in claims] == [c.id for c in CLAIMS]
    assert {"rerank_beats_greedy", "orm_rerank_beats_greedy", "orm_ranks_solutions", "sorm_beats_orm_steps",
            "orm_beats_sorm_final", "global_local_complementary"} <= {c["id"] for c in claims}
    for claim in claims:
        assert set(claim) == {"id", "claim", "ours", "ci95", "paper", "holds"}
        assert isinstance(claim["ours"], float) and isinstance(claim["holds"], bool)
        low, high = claim["ci95"]
        assert low <= claim["ours"] <= high
        assert claim["holds"] == (low > 0)
    json.dumps(claims)  # plain JSON


def test_each_claim_measures_the_known_difference():
    claims = {c["id"]: c for c in measure_claims(records(), resamples=200, seed=0)}
    assert claims["rerank_beats_greedy"]["ours"] == 50.0  # 100% reranked vs 50% greedy
    assert claims["orm_rerank_beats_greedy"]["ours"] == 25.0
    # within-question pairs exist in questions 1 and 2 (one each per copy): ORM wins both (AUC 1),
    # the likelihood loses one and ties one (AUC 0.25)
    assert claims["orm_ranks_solutions"]["ours"] == 0.75
    assert claims["orm_ranks_solutions"]["holds"]
    # the SORM separates valid from invalid steps perfectly; the ORM does not
    assert claims["sorm_beats_orm_steps"]["ours"] > 0
    assert claims["orm_beats_sorm_final"]["ours"] > 0
    # of the 2 fixed drafts per copy, one is fixed by global alone and one by local alone: 50 points
    assert claims["global_local_complementary"]["ours"] == 50.0


def test_refinements_are_not_complementary_when_one_fixes_nothing_the_other_misses():
    # global fixes both incorrect drafts, local one of them: nothing is fixed by local alone
    one_sided = QuestionRecords(**{**records().__dict__, "fixed_global": [False, True, True, False] * 10,
                                   "fixed_local": [False, True, False, False] * 10})
    claim = next(c for c in measure_claims(one_sided, resamples=200, seed=0)
                 if c["id"] == "global_local_complementary")
    assert claim["ours"] == 0.0 and claim["holds"] is False


def test_a_difference_whose_interval_crosses_zero_does_not_hold():
    tied = records()
    # reranking now helps one question kind and hurts another: zero on average
    tied = QuestionRecords(**{**tied.__dict__, "reranked_correct": [True, False, True, False] * 10})
    claim = next(c for c in measure_claims(tied, resamples=200, seed=0) if c["id"] == "rerank_beats_greedy")
    assert claim["ours"] == 0.0 and claim["ci95"][0] < 0 < claim["ci95"][1]
    assert claim["holds"] is False
