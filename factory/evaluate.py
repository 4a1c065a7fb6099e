"""`evaluate` stage: every claim of the paper, measured on the pipeline's own models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from factory.claims import QuestionRecords, measure_claims
from factory.generation import Engine
from factory.metrics import (
    AGGREGATORS,
    best_index,
    binary_report,
    first_bad_step,
    majority_answer,
    share,
    solution_score,
    value_bad_step,
)
from factory.params import Params
from factory.processbench import drafts_score
from factory.prompts import chat_tokenizer, solution_text, student_prompt
from factory.ranking import auc, balanced_accuracy, within_group_auc
from factory.refinery import Solution, final_scores, refine_all
from factory.scoring import LikelihoodScorer, StepScorer
from factory.tables import read_table
from factory.tasks import answers, get_task

REWARD_MODELS = ("orm", "orm_balanced", "sorm")


@dataclass(frozen=True)
class Models:
    student: Path
    orm: Path
    orm_balanced: Path
    sorm: Path
    refiner_global: Path
    refiner_local: Path
    refiner_value: Path


def student_measures(samples: list[list[Solution]], references: list[str], drafts_correct: list[bool],
                     orm_steps: list[list[list[float]]], sorm_steps: list[list[list[float]]], bo: int) -> dict:
    """Table 5 and appendix D: maj@1, maj@K, pass@K, ORM rerank@K, Bo-n, heuristics."""
    def correct(solution: Solution, reference: str) -> bool:
        return answers.same_number(solution.answer, reference)

    k = len(samples[0]) if samples else 0
    result = {
        "k": k,
        "bo": bo,
        "maj1": share(drafts_correct),
        f"maj{k}": share([majority_answer([s.answer for s in row]) == answers.normalise_number(ref)
                          for row, ref in zip(samples, references)]),
        f"pass{k}": share([any(correct(s, ref) for s in row) for row, ref in zip(samples, references)]),
    }
    for name, step_scores in (("orm", orm_steps), ("sorm", sorm_steps)):
        for how in AGGREGATORS:
            picks = [best_index([solution_score(steps, how) for steps in row]) for row in step_scores]
            result[f"rerank{k}_{name}_{how}"] = share(
                [correct(row[pick], ref) for row, pick, ref in zip(samples, picks, references)]
            )
    bo_picks = [best_index([solution_score(steps, "final") for steps in row[:bo]]) for row in orm_steps]
    result[f"orm_bo{bo}"] = share([correct(row[p], ref) for row, p, ref in zip(samples, bo_picks, references)])
    return result


def reward_model_measures(step_scores: list[list[float]], drafts: list[dict], threshold: float,
                          samples: dict) -> dict:
    """Tables 1-2: step-level and final-answer judgements on the drafts, against the verifier
    labels and (where the task has it) the exact truth; at `threshold` (accuracy, balanced
    accuracy, error rates) and threshold-free (AUC). Plus the within-question AUC on the student
    samples (`samples`: scores, correct, question of each): does the model rank solutions?"""
    def judged(pairs: list[tuple[float, bool]]) -> dict:
        scores, truth = [s for s, _ in pairs], [t for _, t in pairs]
        predicted = [s > threshold for s in scores]
        return {**binary_report(predicted, truth), "balanced_accuracy": _round(balanced_accuracy(predicted, truth)),
                "auc": _round(auc(scores, truth))}

    steps = [(score, bool(label), number)
             for row, draft in zip(step_scores, drafts)
             for number, (score, label) in enumerate(zip(row, draft["step_labels"]), start=1)]
    result = {"step_vs_verifier_labels": judged([(s, t) for s, t, _ in steps])}
    exact = [(score, truth)
             for row, draft in zip(step_scores, drafts) if draft["exact_labels"] is not None
             for score, truth in zip(row, draft["exact_labels"])]
    if exact:
        result["step_vs_exact_truth"] = judged(exact)
    result["final_answer"] = judged([(row[-1], draft["is_correct"]) for row, draft in zip(step_scores, drafts) if row])
    result["step_accuracy_by_step"] = {
        number: share([(s > threshold) == t for s, t, n in steps if n == number])
        for number in sorted({n for _, _, n in steps})
    }
    result["within_question_auc"] = _round(within_group_auc(samples["scores"], samples["correct"],
                                                            samples["question"]))
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def label_quality(sorm_labels: list[dict], rollouts: list[dict], questions: dict[str, dict], task) -> dict | None:
    """Appendix G: how often the factory's SORM labels (and, for contrast, the ORM's) agree with
    the exact prefix truth of the training rollouts; None where the task has no exact truth."""
    exact = getattr(task, "prefix_validity", None)
    if exact is None:
        return None
    truth = {}
    for rollout in rollouts:
        question = questions[rollout["question_id"]]
        for number, valid in enumerate(exact(question["question"], question["solution"], rollout["steps"]), 1):
            truth[(rollout["rollout_id"], number)] = (valid, rollout["is_correct"])
    rows = [(bool(row["label"]), *truth[(row["rollout_id"], row["step"])]) for row in sorm_labels]
    return {
        "sorm_labels_vs_exact": binary_report([label for label, _, _ in rows], [valid for _, valid, _ in rows]),
        "orm_labels_vs_exact": binary_report([correct for _, _, correct in rows], [valid for _, valid, _ in rows]),
    }


def refinement_measures(variants: dict[str, list[Solution]], references: Sequence[str], drafts_correct: list[bool],
                        orm_final: dict[str, list[float]], bo_accuracy: float | None) -> dict:
    """Figure 3 / Table 3 (each refinement, all drafts and incorrect drafts only, and unions) and
    Figure 4 (ORM reranking of draft + global + local against greedy, Bo-n and an oracle), with
    the local refinement located by the SORM and, as the paper also reports, by the ORM."""
    correct = correctness(variants, references)
    wrong = [i for i, ok in enumerate(drafts_correct) if not ok]
    table = {}
    rows = dict(correct)
    rows["global_or_local_sorm"] = [a or b for a, b in zip(correct["global"], correct["local_sorm"])]
    rows["global_or_local_orm"] = [a or b for a, b in zip(correct["global"], correct["local_orm"])]
    for name, flags in rows.items():
        table[name] = {"all_drafts": share(flags), "incorrect_drafts": share([flags[i] for i in wrong])}
    fixed = {name: set(i for i in wrong if correct[name][i]) for name in ("global", "local_sorm")}
    reranking = {"greedy": share(drafts_correct), "orm_bo": bo_accuracy}
    for local in ("local_sorm", "local_orm"):
        candidates = ("draft", "global", local)
        reranking[f"orm_rerank_draft_global_{local}"] = share(reranked(candidates, correct, orm_final))
        reranking[f"oracle_draft_global_{local}"] = share(
            [any(correct[c][i] for c in candidates) for i in range(len(references))])
    # what the rerank of the paper's main claim does with each draft: why it wins or loses
    candidates = ("draft", "global", "local_sorm")
    picks = rerank_picks(candidates, orm_final)
    answered = reranked(candidates, correct, orm_final)
    return {
        "refinement": table,
        "rerank_choices": {"picked": {name: picks.count(j) for j, name in enumerate(candidates)},
                           "fixed": sum(a and not d for a, d in zip(answered, drafts_correct)),
                           "broken": sum(d and not a for a, d in zip(answered, drafts_correct))},
        "fixed_by_global_only": len(fixed["global"] - fixed["local_sorm"]),
        "fixed_by_local_only": len(fixed["local_sorm"] - fixed["global"]),
        "fixed_by_both": len(fixed["global"] & fixed["local_sorm"]),
        "reranking": reranking,
    }


def correctness(variants: dict[str, list[Solution]], references: Sequence[str]) -> dict[str, list[bool]]:
    return {name: [answers.same_number(s.answer, ref) for s, ref in zip(solutions, references)]
            for name, solutions in variants.items()}


def rerank_picks(candidates: Sequence[str], orm_final: dict[str, list[float]]) -> list[int]:
    """Per question, the position in `candidates` of the one the ORM scores highest."""
    return [best_index([orm_final[c][i] for c in candidates]) for i in range(len(orm_final[candidates[0]]))]


def reranked(candidates: Sequence[str], correct: dict[str, list[bool]], orm_final: dict[str, list[float]]) -> list[bool]:
    """Per question, whether the candidate the ORM scores highest is correct."""
    return [correct[candidates[p]][i] for i, p in enumerate(rerank_picks(candidates, orm_final))]


def evaluate(params: Params, *, questions: Path, drafts: Path, rollouts: Path, sorm_labels: Path,
             models: Models) -> dict:
    config = params.evaluate
    task = get_task(params.task.name, params.task)
    by_id = {q["question_id"]: q for q in read_table("questions", questions).to_pylist()}
    draft_rows = read_table("drafts", drafts).to_pylist()
    texts = [by_id[d["question_id"]]["question"] for d in draft_rows]
    references = [by_id[d["question_id"]]["answer"] for d in draft_rows]
    drafts_correct = [d["is_correct"] for d in draft_rows]
    solutions = [Solution(d["draft"], d["final_answer"]) for d in draft_rows]
    batch = params.generator.batch_size

    sampling = config.sampling
    k = sampling.k
    chat = chat_tokenizer(models.student)
    # every engine is released before the next model loads; the scorers stay on the device
    with Engine(params.generator, models.student) as student:
        raw = student().generate(
            [student_prompt(t, chat) for t in texts], n=k, temperature=sampling.temperature, top_p=sampling.top_p,
            max_new_tokens=sampling.max_new_tokens, seed=sampling.seed,
        )
    dtypes = {student.dtype}
    samples = [[Solution.parse(c.text) for c in row] for row in raw]
    flat_texts = [t for t in texts for _ in range(k)]
    flat_samples = [s for row in samples for s in row]
    sample_correct = [answers.same_number(s.answer, ref) for row, ref in zip(samples, references) for s in row]
    sample_question = [i for i in range(len(samples)) for _ in range(k)]
    likelihood = LikelihoodScorer.from_pretrained(models.student, batch_size=batch).score(
        [student_prompt(t, chat) for t in flat_texts], [solution_text(s.steps, s.answer) for s in flat_samples])
    scorers = {name: StepScorer.from_pretrained(getattr(models, name), batch_size=batch) for name in REWARD_MODELS}

    def per_question(flat: list) -> list[list]:
        return [flat[i * k : (i + 1) * k] for i in range(len(samples))]

    sample_steps = {name: scorer.score(flat_texts, [s.steps for s in flat_samples], [s.answer for s in flat_samples])
                    for name, scorer in scorers.items()}
    student_result = student_measures(samples, references, drafts_correct, per_question(sample_steps["orm"]),
                                      per_question(sample_steps["sorm"]), config.bo)
    student_result["within_question_auc_likelihood"] = _round(within_group_auc(likelihood, sample_correct,
                                                                               sample_question))

    sample_final = {name: [solution_score(row, "final") for row in rows] for name, rows in sample_steps.items()}
    draft_scores = {name: scorer.score(texts, [s.steps for s in solutions], [s.answer for s in solutions])
                    for name, scorer in scorers.items()}
    reward_result = {
        name: reward_model_measures(draft_scores[name], draft_rows, config.threshold, {
            "scores": sample_final[name], "correct": sample_correct, "question": sample_question})
        for name in REWARD_MODELS
    }

    local_marks = {name: [first_bad_step(r, config.threshold) for r in draft_scores[name]] for name in ("orm", "sorm")}
    # appendix J: at test time the ORM's step values say where the draft was still on track
    value_marks = [value_bad_step(row) for row in draft_scores["orm"]]

    def refined_by(model: Path, *marks: list[int | None] | None) -> list[list[Solution]]:
        # one refiner loaded at a time, sized to the memory the scorers leave free
        tokenizer = chat_tokenizer(model)
        with Engine(params.generator, model) as refiner:
            refined = [refine_all(refiner(), texts, solutions, m, max_new_tokens=config.max_new_tokens,
                                  tokenizer=tokenizer) for m in marks]
        dtypes.add(refiner.dtype)
        return refined

    (global_refined,) = refined_by(models.refiner_global, None)
    local_orm, local_sorm = refined_by(models.refiner_local, local_marks["orm"], local_marks["sorm"])
    (value_refined,) = refined_by(models.refiner_value, value_marks)
    variants = {"draft": solutions, "global": global_refined, "local_orm": local_orm, "local_sorm": local_sorm,
                "value": value_refined}
    orm_final = {name: final_scores(scorers["orm"], texts, variants[name])
                 for name in ("draft", "global", "local_sorm", "local_orm")}
    refinement_result = refinement_measures(variants, references, drafts_correct, orm_final,
                                            student_result[f"orm_bo{config.bo}"])
    correct = correctness(variants, references)
    rerank_k = [row[best_index(scores)]
                for row, scores in zip(per_question(sample_correct), per_question(sample_final["orm"]))]
    exact = [d["exact_labels"] or [] for d in draft_rows]
    records = QuestionRecords(
        greedy_correct=drafts_correct,
        reranked_correct=reranked(("draft", "global", "local_sorm"), correct, orm_final),
        rerank_k_correct=rerank_k,
        sample_correct=per_question(sample_correct),
        sample_orm=per_question(sample_final["orm"]),
        sample_likelihood=per_question(likelihood),
        step_truth=exact,
        step_orm=[row[: len(truth)] for row, truth in zip(draft_scores["orm"], exact)],
        step_sorm=[row[: len(truth)] for row, truth in zip(draft_scores["sorm"], exact)],
        draft_orm=[solution_score(row, "final") for row in draft_scores["orm"]],
        draft_sorm=[solution_score(row, "final") for row in draft_scores["sorm"]],
        fixed_global=[not ok and fixed for ok, fixed in zip(drafts_correct, correct["global"])],
        fixed_local=[not ok and fixed for ok, fixed in zip(drafts_correct, correct["local_sorm"])],
    )
    quality = label_quality(read_table("sorm_labels", sorm_labels).to_pylist(),
                            read_table("rollouts", rollouts).to_pylist(), by_id, task)
    return {
        "drafts": len(draft_rows),
        "threshold": config.threshold,
        "dtype": ",".join(sorted(dtypes)),
        "student": student_result,
        "reward_models": reward_result,
        "sorm_label_quality": quality,
        # ProcessBench's measures on the drafts (exact first error), from the step scores above
        "processbench": {name: drafts_score(draft_scores[name], draft_rows, config.threshold)
                         for name in REWARD_MODELS},
        **refinement_result,
        "claims": measure_claims(records, resamples=config.bootstrap_resamples, seed=config.bootstrap_seed),
    }
