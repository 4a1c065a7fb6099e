"""`refiner` stage: train the global, local or value refiner on its refinement pairs."""

from __future__ import annotations

from pathlib import Path

from factory.catalogue import PAIR_TABLES
from factory.params import Params
from factory.prompts import chat_tokenizer, refine_prompt, solution_text
from factory.tables import read_table


def refinement_pairs(kind: str, pairs: list[dict], questions: list[dict], *,
                     tokenizer: object | None) -> tuple[list[str], list[str]]:
    """(prompt, completion) per pair: the question and the draft (with `[BAD]` before
    `bad_step` for local and value refinement) -> the whole correct target solution; the prompt
    through `tokenizer`'s chat template where the refiner's model has one."""
    text = {q["question_id"]: q["question"] for q in questions}
    prompts, completions = [], []
    for pair in pairs:
        bad_step = None if kind == "global" else pair["bad_step"]
        # the draft as the refiner sees it at test time: its steps and its `#### answer` line
        prompts.append(refine_prompt(text[pair["question_id"]], pair["draft"], bad_step,
                                     draft_answer=pair["draft_answer"], tokenizer=tokenizer))
        completions.append(solution_text(pair["target"], pair["target_answer"]))
    return prompts, completions


def refiner(params: Params, *, kind: str, pairs: Path, questions: Path, student: Path, out: Path) -> dict:
    from trainers.causal_lm import train_causal_lm

    config = params.refiner
    rows = read_table(PAIR_TABLES[kind], pairs).to_pylist()
    if config.max_pairs:
        rows = rows[: config.max_pairs]
    if not rows:
        raise ValueError(f"{PAIR_TABLES[kind]} has no pairs to train on")
    init = student if config.init == "student" else config.init
    prompts, completions = refinement_pairs(kind, rows, read_table("questions", questions).to_pylist(),
                                            tokenizer=chat_tokenizer(init))
    stats = train_causal_lm(
        base_model=init,
        prompts=prompts,
        completions=completions,
        params=config.train,
        out=out,
    )
    return {"kind": kind, "pairs": len(rows), **stats}
