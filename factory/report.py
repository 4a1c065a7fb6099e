"""The evaluation as a person reads it: Markdown tables laid out like the paper's, PNG figures,
and CSV plot data for `dvc plots show`."""

from __future__ import annotations

import csv
from pathlib import Path

from factory.tables import atomic_path, write_json

# Only the paper's headline is quoted (abstract: Llama-2 13B, RL-fine-tuned, GSM8K); the other
# cells point at the paper's table instead of repeating numbers we could not check here.
PAPER_GREEDY, PAPER_RERANKED = "53%", "65%"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _claims(result: dict) -> list[str]:
    """The claims table: each claim with our figure, its 95% interval and the paper's."""
    lines = ["| claim | ours | 95% interval | paper | holds |", "|---|---|---|---|---|"]
    for claim in result["claims"]:
        interval = "n/a" if claim["ci95"] is None else f"[{claim['ci95'][0]:+.3f}, {claim['ci95'][1]:+.3f}]"
        ours = "n/a" if claim["ours"] is None else f"{claim['ours']:+.3f}"
        lines.append(f"| `{claim['id']}`: {claim['claim']} | {ours} | {interval} | {claim['paper']} | "
                     f"{'holds' if claim['holds'] else 'does not hold'} |")
    return lines


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def processbench_section(scores: dict) -> list[str]:
    """ProcessBench's measures of each reward model on the test drafts (`glore export processbench`)."""
    known = {name: score for name, score in scores.items() if score}
    if not known:
        return []
    out = ["## ProcessBench-style score on the test drafts (exact first error)", "",
           "The predicted error is the first step scored at or below the threshold; F1 is the harmonic mean of "
           "the accuracies on erroneous and on correct drafts, as ProcessBench reports it.", "",
           "| model | drafts (erroneous) | error acc. | correct acc. | F1 | step AUC |", "|---|---|---|---|---|---|"]
    for name, score in known.items():
        out.append(f"| {name} | {score['samples']} ({score['erroneous']}) | {_pct(score['error_accuracy'])} | "
                   f"{_pct(score['correct_accuracy'])} | {_pct(score['f1'])} | {_auc(score['step_auc'])} |")
    return out + [""]


def markdown(result: dict, *, task: str) -> str:
    student, k = result["student"], result["student"]["k"]
    out = [f"# GLoRe evaluation ({task}, {result['drafts']} test drafts)", ""]
    out += ["## Student (paper Table 5)", "", "| measure | ours | paper |", "|---|---|---|",
            f"| maj@1 (greedy) | {_pct(student['maj1'])} | {PAPER_GREEDY} (13B, GSM8K) |",
            f"| maj@{k} | {_pct(student[f'maj{k}'])} | see Table 5 |",
            f"| ORM rerank@{k} | {_pct(student[f'rerank{k}_orm_final'])} | see Table 5 |",
            f"| pass@{k} | {_pct(student[f'pass{k}'])} | see Table 5 |", ""]
    out += ["## Reward models on the test drafts (paper Tables 1 and 2)", "",
            "Threshold-free first: AUC is the chance that a correct step (or answer) scores above an "
            "incorrect one; within-question AUC compares only samples of the same question, so it "
            "says whether a model ranks solutions rather than questions by difficulty.", "",
            "| model | step AUC (exact truth) | step AUC (verifier labels) | final-answer AUC | "
            "within-question AUC | step acc. / balanced (exact) | final acc. / balanced | final FPR | final FNR |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, rm in result["reward_models"].items():
        step, final = rm["step_vs_verifier_labels"], rm["final_answer"]
        exact = rm.get("step_vs_exact_truth", {})
        out.append(f"| {name} | {_auc(exact.get('auc'))} | {_auc(step['auc'])} | {_auc(final['auc'])} | "
                   f"{_auc(rm['within_question_auc'])} | {_pct(exact.get('accuracy'))} / "
                   f"{_pct(exact.get('balanced_accuracy'))} | {_pct(final['accuracy'])} / "
                   f"{_pct(final['balanced_accuracy'])} | {_pct(final['false_positive_rate'])} | "
                   f"{_pct(final['false_negative_rate'])} |")
    out += [f"| student likelihood (mean token log-prob) | | | | "
            f"{_auc(student['within_question_auc_likelihood'])} | | | | |",
            "", f"Accuracy and error rates at threshold {result['threshold']}.", ""]
    quality = result.get("sorm_label_quality")
    if quality:
        out += ["## Training label quality against the exact step truth (paper appendix G)", "",
                "| labels | agreement | false-positive rate | false-negative rate |", "|---|---|---|---|"]
        for name, report in quality.items():
            out.append(f"| {name.replace('_vs_exact', '')} | {_pct(report['accuracy'])} | "
                       f"{_pct(report['false_positive_rate'])} | {_pct(report['false_negative_rate'])} |")
        out.append("")
    out += processbench_section(result.get("processbench") or {})
    out += ["## Refinement (paper Figure 3, Table 3): accuracy after refining", "",
            "| refinement | all drafts | incorrect drafts (share fixed) |", "|---|---|---|"]
    for name, row in result["refinement"].items():
        out.append(f"| {name} | {_pct(row['all_drafts'])} | {_pct(row['incorrect_drafts'])} |")
    out += ["", "## Reranking (paper Figure 4)", "", "| method | accuracy | paper |", "|---|---|---|"]
    rerank = result["reranking"]
    out += [f"| greedy draft | {_pct(rerank['greedy'])} | {PAPER_GREEDY} |",
            f"| ORM-reranked best of {student['bo']} samples | {_pct(rerank['orm_bo'])} | see Figure 4 |",
            f"| ORM-reranked draft + global + local (SORM-localised) | "
            f"{_pct(rerank['orm_rerank_draft_global_local_sorm'])} | {PAPER_RERANKED} |",
            f"| ORM-reranked draft + global + local (ORM-localised) | "
            f"{_pct(rerank['orm_rerank_draft_global_local_orm'])} | see Figure 4 |",
            f"| oracle over draft + global + local (SORM-localised) | "
            f"{_pct(rerank['oracle_draft_global_local_sorm'])} | see Figure 4 |",
            f"| oracle over draft + global + local (ORM-localised) | "
            f"{_pct(rerank['oracle_draft_global_local_orm'])} | see Figure 4 |", ""]
    choices = result["rerank_choices"]
    picked = choices["picked"]
    out += [f"The SORM-localised rerank keeps the draft for {picked['draft']} questions, picks the global "
            f"refinement for {picked['global']} and the local one for {picked['local_sorm']}: it answers "
            f"{choices['fixed']} incorrect drafts correctly and {choices['broken']} correct drafts incorrectly.", ""]
    out += [f"## Reranking heuristics over {k} samples (paper appendix D)", "",
            "| step-score aggregate | ORM | SORM |", "|---|---|---|"]
    for how in ("final", "mean", "weighted_mean", "min", "product", "penultimate"):
        out.append(f"| {how} | {_pct(student[f'rerank{k}_orm_{how}'])} | {_pct(student[f'rerank{k}_sorm_{how}'])} |")
    out += ["", "## The paper's claims at this scale (`metrics/claims.json`)", "",
            "`ours` is a difference in accuracy points or in AUC, with a 95% bootstrap interval over test "
            "questions; a claim holds only when the whole interval is above zero.", ""]
    out += _claims(result) + [""]
    return "\n".join(out)


def _bar_chart(path: Path, title: str, labels: list[str], series: dict[str, list[float | None]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(series), 1)
    for offset, (name, values) in enumerate(series.items()):
        axis.bar([i + offset * width for i in range(len(labels))], [100 * (v or 0) for v in values], width,
                 label=name)
    axis.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels, rotation=20,
                    ha="right")
    axis.set_ylabel("accuracy (%)")
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)


def write_report(result: dict, *, task: str, out_dir: Path) -> None:
    """report.md, three PNG figures and the step-accuracy CSV, each written atomically."""
    with atomic_path(out_dir / "report.md") as temporary:
        temporary.write_text(markdown(result, task=task))
    write_json(result["claims"], out_dir / "claims.json")
    refinement = result["refinement"]
    names = list(refinement)
    _bar_chart(out_dir / "refinement.png", "Refinement accuracy (Figure 3)", names,
               {"all drafts": [refinement[n]["all_drafts"] for n in names],
                "incorrect drafts": [refinement[n]["incorrect_drafts"] for n in names]})
    rerank = result["reranking"]
    _bar_chart(out_dir / "reranking.png", "Reranking (Figure 4)", list(rerank), {"accuracy": list(rerank.values())})
    by_step = {name: rm["step_accuracy_by_step"] for name, rm in result["reward_models"].items()}
    steps = sorted({int(step) for table in by_step.values() for step in table})
    _bar_chart(out_dir / "step_accuracy.png", "Step accuracy by step number (verifier labels)",
               [str(s) for s in steps], {name: [table.get(s) for s in steps] for name, table in by_step.items()})
    with atomic_path(out_dir / "step_accuracy.csv") as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", *by_step])
            writer.writerows([s, *[by_step[name].get(s) for name in by_step]] for s in steps)
