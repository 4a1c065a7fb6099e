"""Score a step classifier on ProcessBench-format data: a local file or the hub's subsets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from factory import GloreError
from factory.processbench import predicted_index, subset_scores
from factory.step_import import LOCAL_SUFFIXES, read_source

HUB_ID = "Qwen/ProcessBench"
SUBSETS = ("gsm8k", "math", "olympiadbench", "omnimath")


def processbench_row(record: object, where: str) -> dict:
    """A checked ProcessBench row, or a GloreError naming it."""
    if not isinstance(record, dict):
        raise GloreError(f"{where}: expected an object with id, problem, steps, label")
    steps, label = record.get("steps"), record.get("label")
    if not isinstance(record.get("problem"), str) or not record["problem"].strip():
        raise GloreError(f"{where}: no problem")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
        raise GloreError(f"{where}: steps must be a non-empty list of non-empty strings")
    if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
        raise GloreError(f"{where}: label {label!r} is not -1 or the index of one of its {len(steps)} steps")
    return {"id": str(record.get("id", where)), "problem": record["problem"], "steps": steps, "label": label}


def read_subsets(data: str, subsets: Sequence[str]) -> dict[str, list[dict]]:
    """Subset name -> checked rows. A path holding `{split}` is one local file per subset; any
    other local file is one subset named after it; anything else is a hub id, a split per subset."""
    if "{split}" in data:
        sources = {subset: (data.replace("{split}", subset), "train") for subset in subsets}
    elif Path(data).suffix in LOCAL_SUFFIXES or Path(data).exists():
        sources = {Path(data).stem: (data, "train")}
    else:
        sources = {subset: (data, subset) for subset in subsets}
    result = {}
    for subset, (source, split) in sources.items():
        rows = read_source(source, split=split)
        if not rows:
            raise GloreError(f"{source}: no rows")
        result[subset] = [processbench_row(row.record, row.where) for row in rows]
    return result


def processbench(*, model: Path, data: str, subsets: Sequence[str], threshold: float, batch_size: int = 32) -> dict:
    """Score step classifier `model` on every subset: ProcessBench's measures, their mean F1,
    and each sample's predicted first-error index."""
    from factory.scoring import StepScorer

    scorer = StepScorer.from_pretrained(model, batch_size=batch_size)
    result: dict = {"model": str(model), "data": data, "threshold": threshold, "subsets": {}, "predictions": {}}
    for subset, rows in read_subsets(data, subsets).items():
        scores = scorer.score([row["problem"] for row in rows], [row["steps"] for row in rows])
        result["subsets"][subset] = subset_scores([row["label"] for row in rows], scores, threshold)
        result["predictions"][subset] = [{"id": row["id"], "label": row["label"],
                                          "predicted": predicted_index(row_scores, threshold)}
                                         for row, row_scores in zip(rows, scores)]
    f1s = [scores["f1"] for scores in result["subsets"].values() if scores["f1"] is not None]
    result["average_f1"] = round(sum(f1s) / len(f1s), 4) if f1s else None
    return result
