"""`rollouts` stage: K student samples per train question, one row per sample."""

from __future__ import annotations

from functools import cache
from pathlib import Path


from factory.generation import make_generator
from factory.params import Params
from factory.prompts import chat_tokenizer
from factory.sampling import sample_into, summarise_file
from factory.shards import Shards, fingerprint
from factory.tables import read_table
from factory.tasks import get_task


def rollouts(params: Params, *, model: Path, questions: Path, out: Path) -> dict:
    task = get_task(params.task.name, params.task)
    train = [q for q in read_table("questions", questions).to_pylist() if q["split"] == "train"]
    if params.rollouts.max_questions:
        train = train[: params.rollouts.max_questions]
    per_call = max(1, params.generator.batch_size // params.rollouts.sampling.k)
    shards = Shards("rollouts", out, fingerprint(task=params.task, generator=params.generator,
                                                 rollouts=params.rollouts, model=model, questions=questions))
    resumed = len(shards.done)
    generator = cache(lambda: make_generator(params.generator, model))
    units = sample_into(shards, generator, task, train, params.rollouts.sampling, questions_per_call=per_call,
                        tokenizer=chat_tokenizer(model), description="rollouts")
    shards.finish(units)
    return {**summarise_file(out), "resumed_units": resumed, "units": len(units)}
