"""`sft` stage: fine-tune the base model on reference solutions, then score it greedily on test."""

from __future__ import annotations

from pathlib import Path

from factory.params import Params
from factory.prompts import solution_text, student_prompt
from factory.rollouts import greedy_accuracy
from factory.tables import read_table


def sft(params: Params, *, base_model: Path, questions: Path, out: Path) -> dict:
    from trainers.causal_lm import train_causal_lm

    table = read_table("questions", questions).to_pylist()
    train = [q for q in table if q["split"] == "train" and q["solution"]]
    test = [q for q in table if q["split"] == "test"][: params.sft.eval_questions]
    stats = train_causal_lm(
        base_model=base_model,
        prompts=[student_prompt(q["question"]) for q in train],
        completions=[solution_text(q["solution"], q["answer"]) for q in train],
        params=params.sft.train,
        out=out,
    )
    accuracy = greedy_accuracy(params, model=out, questions=test, max_new_tokens=params.sft.max_new_tokens)
    return {**stats, "test": accuracy}
