"""The evaluation as a person reads it: Markdown tables laid out like the paper's, PNG figures,
and CSV plot data for `dvc plots show`."""

from __future__ import annotations

import csv
from pathlib import Path

from factory.tables import atomic_path

# Only the paper's headline is quoted (abstract: Llama-2 13B, RL-fine-tuned, GSM8K); the other
# cells point at the paper's table instead of repeating numbers we could not check here.
PAPER_GREEDY, PAPER_RERANKED = "53%", "65%"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _claims(result: dict) -> list[str]:
    """The paper's qualitative claims, each read off our numbers."""
    rm = result["reward_models"]
    orm_step = rm["orm"]["step_vs_verifier_labels"]["accuracy"]
    sorm_step = rm["sorm"]["step_vs_verifier_labels"]["accuracy"]
    orm_final = rm["orm"]["final_answer"]["accuracy"]
    sorm_final = rm["sorm"]["final_answer"]["accuracy"]
    rerank = result["reranking"]

    def holds(flag: bool) -> str:
        return "holds" if flag else "does not hold"

    lines = [
        f"SORM beats ORM on step accuracy (verifier labels): {holds((sorm_step or 0) > (orm_step or 0))} "
        f"({_pct(sorm_step)} vs {_pct(orm_step)}).",
    ]
    if "step_vs_exact_truth" in rm["sorm"]:
        orm_exact = rm["orm"]["step_vs_exact_truth"]["accuracy"]
        sorm_exact = rm["sorm"]["step_vs_exact_truth"]["accuracy"]
        lines.append(f"SORM beats ORM on step accuracy (exact truth): {holds((sorm_exact or 0) > (orm_exact or 0))} "
                     f"({_pct(sorm_exact)} vs {_pct(orm_exact)}).")
    lines += [
        f"ORM beats SORM on final-answer accuracy: {holds((orm_final or 0) > (sorm_final or 0))} "
        f"({_pct(orm_final)} vs {_pct(sorm_final)}).",
        f"Global and local refinement fix partly different drafts: "
        f"{holds(result['fixed_by_global_only'] > 0 and result['fixed_by_local_only'] > 0)} "
        f"(global only {result['fixed_by_global_only']}, local only {result['fixed_by_local_only']}, "
        f"both {result['fixed_by_both']}).",
        f"ORM-reranked draft + global + local beats ORM-reranked Bo{result['student']['bo']}: "
        f"{holds((rerank['orm_rerank_draft_global_local'] or 0) > (rerank['orm_bo'] or 0))} "
        f"({_pct(rerank['orm_rerank_draft_global_local'])} vs {_pct(rerank['orm_bo'])}).",
    ]
    return lines


def markdown(result: dict, *, task: str) -> str:
    student, k = result["student"], result["student"]["k"]
    out = [f"# GLoRe evaluation ({task}, {result['drafts']} test drafts)", ""]
    out += ["## Student (paper Table 5)", "", "| measure | ours | paper |", "|---|---|---|",
            f"| maj@1 (greedy) | {_pct(student['maj1'])} | {PAPER_GREEDY} (13B, GSM8K) |",
            f"| maj@{k} | {_pct(student[f'maj{k}'])} | see Table 5 |",
            f"| ORM rerank@{k} | {_pct(student[f'rerank{k}_orm_final'])} | see Table 5 |",
            f"| pass@{k} | {_pct(student[f'pass{k}'])} | see Table 5 |", ""]
    out += ["## Reward models on the test drafts (paper Tables 1 and 2), threshold 0.5", "",
            "| model | step acc. (verifier labels) | step acc. (exact truth) | final-answer acc. | "
            "step FPR | step FNR | final FPR | final FNR |", "|---|---|---|---|---|---|---|---|"]
    for name, rm in result["reward_models"].items():
        step, final = rm["step_vs_verifier_labels"], rm["final_answer"]
        exact = rm.get("step_vs_exact_truth", {}).get("accuracy")
        out.append(f"| {name} | {_pct(step['accuracy'])} | {_pct(exact)} | {_pct(final['accuracy'])} | "
                   f"{_pct(step['false_positive_rate'])} | {_pct(step['false_negative_rate'])} | "
                   f"{_pct(final['false_positive_rate'])} | {_pct(final['false_negative_rate'])} |")
    out.append("")
    quality = result.get("sorm_label_quality")
    if quality:
        out += ["## Training label quality against the exact step truth (paper appendix G)", "",
                "| labels | agreement | false-positive rate | false-negative rate |", "|---|---|---|---|"]
        for name, report in quality.items():
            out.append(f"| {name.replace('_vs_exact', '')} | {_pct(report['accuracy'])} | "
                       f"{_pct(report['false_positive_rate'])} | {_pct(report['false_negative_rate'])} |")
        out.append("")
    out += ["## Refinement (paper Figure 3, Table 3): accuracy after refining", "",
            "| refinement | all drafts | incorrect drafts (share fixed) |", "|---|---|---|"]
    for name, row in result["refinement"].items():
        out.append(f"| {name} | {_pct(row['all_drafts'])} | {_pct(row['incorrect_drafts'])} |")
    out += ["", "## Reranking (paper Figure 4)", "", "| method | accuracy | paper |", "|---|---|---|"]
    rerank = result["reranking"]
    out += [f"| greedy draft | {_pct(rerank['greedy'])} | {PAPER_GREEDY} |",
            f"| ORM-reranked best of {student['bo']} samples | {_pct(rerank['orm_bo'])} | see Figure 4 |",
            f"| ORM-reranked draft + global + local | {_pct(rerank['orm_rerank_draft_global_local'])} | "
            f"{PAPER_RERANKED} |",
            f"| oracle over draft + global + local | {_pct(rerank['oracle_draft_global_local'])} | see Figure 4 |", ""]
    out += [f"## Reranking heuristics over {k} samples (paper appendix D)", "",
            "| step-score aggregate | ORM | SORM |", "|---|---|---|"]
    for how in ("final", "mean", "weighted_mean", "min", "product", "penultimate"):
        out.append(f"| {how} | {_pct(student[f'rerank{k}_orm_{how}'])} | {_pct(student[f'rerank{k}_sorm_{how}'])} |")
    out += ["", "## The paper's claims at this scale", ""] + [f"- {line}" for line in _claims(result)] + [""]
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
