"""`sft` stage: fine-tune the base model on reference solutions, then score it greedily on test."""

from __future__ import annotations

from pathlib import Path

from factory.generation import make_generator
from factory.params import Params, SamplingParams
from factory.prompts import solution_text, student_prompt
from factory.rollouts import sample_rollouts, summarise
from factory.tables import read_table
from factory.tasks import get_task


def greedy_accuracy(params: Params, *, model: Path, questions: list[dict], max_new_tokens: int) -> dict:
    """maj@1: the share of questions the model's greedy solution answers correctly."""
    task = get_task(params.task.name, params.task)
    greedy = SamplingParams(k=1, temperature=0.0, max_new_tokens=max_new_tokens)
    generator = make_generator(params.generator, model)
    table = sample_rollouts(
        generator, task, questions, greedy, questions_per_call=params.generator.batch_size, description="greedy"
    )
    return {"greedy_accuracy": summarise(table)["correct_share"], "questions": len(questions)}


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
