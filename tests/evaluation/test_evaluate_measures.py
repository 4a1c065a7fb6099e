"""Each evaluation measure on tiny hand-made inputs with known answers."""

from __future__ import annotations

from factory.evaluate import label_quality, refinement_measures, reward_model_measures, student_measures
from factory.params import TaskParams
from factory.refinery import Solution
from factory.tasks import get_task


def sol(answer: str | None, steps: int = 2) -> Solution:
    return Solution([f"step {i}" for i in range(steps)], answer)


def test_student_measures_from_a_fixed_table():
    samples = [[sol("1"), sol("2"), sol("2"), sol("1")], [sol("5"), sol("6"), sol("7"), sol("8")]]
    references = ["1", "9"]
    # the ORM likes sample 0 for question 1 and sample 3 for question 2; the SORM the reverse
    orm = [[[0.9, 0.9], [0.1, 0.2], [0.3, 0.3], [0.5, 0.4]], [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.9, 0.8]]]
    sorm = [[[0.1, 0.1], [0.9, 0.9], [0.2, 0.2], [0.3, 0.3]], [[0.9, 0.9], [0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]]
    result = student_measures(samples, references, [True, False], orm, sorm, bo=3)
    assert result["k"] == 4 and result["maj1"] == 0.5
    assert result["maj4"] == 0.5  # question 1: 1 and 2 tie, the earliest (1) wins; question 2: no 9
    assert result["pass4"] == 0.5
    assert result["rerank4_orm_final"] == 0.5 and result["rerank4_sorm_final"] == 0.0
    assert result["orm_bo3"] == 0.5  # first three samples: the ORM still picks sample 0


def test_reward_model_measures_against_labels_exact_truth_and_final_answers():
    drafts = [
        {"step_labels": [1, 0], "exact_labels": [True, False], "is_correct": False},
        {"step_labels": [1, 1], "exact_labels": [True, True], "is_correct": True},
    ]
    scores = [[0.9, 0.8], [0.7, 0.6]]  # the model calls every step correct
    samples = {"scores": [0.9, 0.2, 0.4, 0.4], "correct": [True, False, True, False], "question": [0, 0, 1, 1]}
    result = reward_model_measures(scores, drafts, threshold=0.5, samples=samples)
    assert result["step_vs_verifier_labels"] == {"n": 4, "accuracy": 0.75, "false_positive_rate": 1.0,
                                                 "false_negative_rate": 0.0, "balanced_accuracy": 0.5,
                                                 # the one negative (0.8) is above two of the three positives
                                                 "auc": round(1 / 3, 4)}
    assert result["step_vs_exact_truth"]["accuracy"] == 0.75
    # the correct draft scores 0.6, the incorrect 0.8: a perfect threshold-free inversion
    assert result["final_answer"] == {"n": 2, "accuracy": 0.5, "false_positive_rate": 1.0, "false_negative_rate": 0.0,
                                      "balanced_accuracy": 0.5, "auc": 0.0}
    # question 0 ranked right, question 1 tied
    assert result["within_question_auc"] == 0.75
    assert result["step_accuracy_by_step"] == {1: 1.0, 2: 0.5}


def test_refinement_and_reranking_with_a_reranker_that_picks_the_right_item():
    references = ["1", "2", "3"]
    variants = {
        "draft": [sol("1"), sol("0"), sol("0")],
        "global": [sol("0"), sol("2"), sol("0")],
        "local_orm": [sol("1"), sol("0"), sol("0")],
        "local_sorm": [sol("1"), sol("0"), sol("3")],
        "value": [sol("1"), sol("0"), sol("0")],
    }
    orm_final = {"draft": [0.9, 0.1, 0.1], "global": [0.2, 0.8, 0.1], "local_sorm": [0.3, 0.2, 0.7],
                 "local_orm": [0.3, 0.2, 0.05]}
    result = refinement_measures(variants, references, [True, False, False], orm_final, bo_accuracy=0.3333)
    assert result["refinement"]["global"] == {"all_drafts": round(1 / 3, 4), "incorrect_drafts": 0.5}
    assert result["refinement"]["global_or_local_sorm"]["incorrect_drafts"] == 1.0
    assert (result["fixed_by_global_only"], result["fixed_by_local_only"], result["fixed_by_both"]) == (1, 1, 0)
    assert result["reranking"]["orm_rerank_draft_global_local_sorm"] == 1.0
    assert result["reranking"]["oracle_draft_global_local_sorm"] == 1.0
    # the ORM-localised refinement fixes nothing: draft + global + local_orm gets 2 of 3
    assert result["reranking"]["orm_rerank_draft_global_local_orm"] == round(2 / 3, 4)
    assert result["reranking"]["oracle_draft_global_local_orm"] == round(2 / 3, 4)
    assert result["reranking"]["greedy"] == round(1 / 3, 4)
    assert result["rerank_choices"] == {"picked": {"draft": 1, "global": 1, "local_sorm": 1}, "fixed": 2, "broken": 0}


def test_rerank_choices_count_the_correct_drafts_a_reranker_gives_up():
    references = ["1", "2"]
    variants = {"draft": [sol("1"), sol("0")], "global": [sol("0"), sol("0")], "local_orm": [sol("1"), sol("0")],
                "local_sorm": [sol("1"), sol("2")], "value": [sol("1"), sol("0")]}
    # the ORM prefers question 0's wrong global refinement to its correct draft, ties keep the first
    orm_final = {"draft": [0.5, 0.4], "global": [0.9, 0.1], "local_sorm": [0.2, 0.4], "local_orm": [0.5, 0.4]}
    result = refinement_measures(variants, references, [True, False], orm_final, bo_accuracy=None)
    assert result["rerank_choices"] == {"picked": {"draft": 1, "global": 1, "local_sorm": 0}, "fixed": 0, "broken": 1}


def test_label_quality_against_exact_truth():
    task = get_task("arith", TaskParams(n_train=3, n_test=1, n_dev=0))
    question = task.load("train").to_pylist()[0]
    wrong_second = [question["solution"][0], "So she has 1 + 1 = <<1+1=3>>3 left."]
    rollouts = [{"rollout_id": "r1", "question_id": question["question_id"], "steps": wrong_second,
                 "is_correct": False}]
    labels = [{"rollout_id": "r1", "step": 1, "label": 1}, {"rollout_id": "r1", "step": 2, "label": 0}]
    result = label_quality(labels, rollouts, {question["question_id"]: question}, task)
    assert result["sorm_labels_vs_exact"]["accuracy"] == 1.0
    assert result["orm_labels_vs_exact"]["accuracy"] == 0.5  # the ORM calls the valid step 1 wrong
