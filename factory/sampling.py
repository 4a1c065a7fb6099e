"""Sampling solutions from the student: K samples per question in seeded chunks, greedy
accuracy, and the correct solutions kept for training. The rollouts, ei, sft and drafts stages
share it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from factory.catalogue import SCHEMAS
from factory.generation import Engine, Generator
from factory.params import Params, SamplingParams
from factory.prompts import chat_tokenizer, solution_text, student_prompt
from factory.shards import Shards
from factory.tasks import Task, get_task


def chunked(questions: Sequence[dict], questions_per_call: int) -> list[Sequence[dict]]:
    return [questions[start : start + questions_per_call] for start in range(0, len(questions), questions_per_call)]


def chunk_seed(sampling: SamplingParams, index: int) -> int:
    """The seed of chunk `index`: it depends on the chunk alone, so a resumed run samples a
    chunk exactly as an uninterrupted one would."""
    return sampling.seed * 1_000_003 + index


def sample_chunk(generator: Generator, task: Task, chunk: Sequence[dict], sampling: SamplingParams, *,
                 seed: int, tokenizer: object | None) -> pa.Table:
    """`sampling.k` solutions per question of `chunk`, in one generator call; `tokenizer`: the
    student's, when its prompts go through its chat template (prompts.chat_tokenizer)."""
    samples = generator.generate(
        [student_prompt(q["question"], tokenizer) for q in chunk],
        n=sampling.k,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_new_tokens=sampling.max_new_tokens,
        seed=seed,
    )
    rows = []
    for question, completions in zip(chunk, samples):
        for sample_idx, completion in enumerate(completions):
            steps = task.split_steps(completion.text)
            final_answer = task.extract_answer(completion.text)
            rows.append(
                {
                    "rollout_id": f"{question['question_id']}/{sample_idx}",
                    "question_id": question["question_id"],
                    "sample_idx": sample_idx,
                    "steps": steps,
                    "step_results": [task.step_result(step) for step in steps],
                    "final_answer": final_answer,
                    "is_correct": task.is_correct(final_answer, question["answer"]),
                    "n_tokens": completion.n_tokens,
                }
            )
    return pa.Table.from_pylist(rows, schema=SCHEMAS["rollouts"])


def sample_rollouts(
    generator: Generator,
    task: Task,
    questions: list[dict],
    sampling: SamplingParams,
    *,
    questions_per_call: int,
    tokenizer: object | None,
    description: str = "rollouts",
) -> pa.Table:
    """Sample `sampling.k` solutions per question, in memory (greedy scores, a few drafts)."""
    tables = [SCHEMAS["rollouts"].empty_table()]
    with tqdm(total=len(questions), desc=description, unit="question") as progress:
        for index, chunk in enumerate(chunked(questions, questions_per_call)):
            tables.append(sample_chunk(generator, task, chunk, sampling, seed=chunk_seed(sampling, index),
                                       tokenizer=tokenizer))
            progress.update(len(chunk))
    return pa.concat_tables(tables)


def sample_into(
    shards: Shards,
    generator: Callable[[], Generator],
    task: Task,
    questions: list[dict],
    sampling: SamplingParams,
    *,
    questions_per_call: int,
    tokenizer: object | None,
    description: str,
) -> list[str]:
    """Sample like sample_rollouts, one shard per chunk, flushed as soon as it is sampled (so
    memory does not grow with the questions or K); chunks with a shard already are skipped.
    `generator` is called only when a chunk needs sampling, so a finished run loads no model.
    Returns the units in order, for `shards.finish`."""
    chunks = chunked(questions, questions_per_call)
    units = [f"{index:06d}" for index in range(len(chunks))]
    with tqdm(total=len(questions), desc=description, unit="question") as progress:
        for index, (unit, chunk) in enumerate(zip(units, chunks)):
            if unit not in shards:
                shards.add(unit, sample_chunk(generator(), task, chunk, sampling, seed=chunk_seed(sampling, index),
                                              tokenizer=tokenizer))
            progress.update(len(chunk))
    return units


def summarise(table: pa.Table) -> dict:
    return _summary([table])


def summarise_file(path: Path) -> dict:
    """summarise() of a rollouts file, read a batch at a time."""
    return _summary(pq.ParquetFile(path).iter_batches(columns=["is_correct", "n_tokens"]))


def _summary(batches: Iterable[pa.Table | pa.RecordBatch]) -> dict:
    rows = correct = tokens = 0
    for batch in batches:
        rows += batch.num_rows
        correct += pc.sum(batch.column("is_correct")).as_py() or 0
        tokens += pc.sum(batch.column("n_tokens")).as_py() or 0
    return {"rollouts": rows, "correct_share": round(correct / max(rows, 1), 4), "generated_tokens": tokens}


def greedy_accuracy(params: Params, *, model: Path, questions: list[dict], max_new_tokens: int) -> dict:
    """maj@1: the share of questions the model's greedy solution answers correctly, and the dtype
    it was decoded at. The engine is released before this returns."""
    task = get_task(params.task.name, params.task)
    greedy = SamplingParams(k=1, temperature=0.0, max_new_tokens=max_new_tokens)
    with Engine(params.generator, model) as engine:
        table = sample_rollouts(engine(), task, questions, greedy, questions_per_call=params.generator.batch_size,
                                tokenizer=chat_tokenizer(model), description="greedy")
    return {"greedy_accuracy": summarise(table)["correct_share"], "questions": len(questions), "dtype": engine.dtype}


def normalised(text: str) -> str:
    """Solutions differing only in case or spacing count once."""
    return " ".join(text.lower().split())


def correct_solutions(rollouts: list[dict]) -> dict[tuple[str, str], str]:
    """{(question_id, normalised text): solution text} of the correct rollouts."""
    kept = {}
    for rollout in rollouts:
        if rollout["is_correct"]:
            text = solution_text(rollout["steps"], rollout["final_answer"])
            kept.setdefault((rollout["question_id"], normalised(text)), text)
    return kept
