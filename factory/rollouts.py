"""`rollouts` stage: K student samples per train question, one row per sample."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from factory.generation import Generator, make_generator
from factory.params import Params, SamplingParams
from factory.prompts import student_prompt
from factory.tables import SCHEMAS, read_table, write_table
from factory.tasks import Task, get_task


def sample_rollouts(
    generator: Generator,
    task: Task,
    questions: list[dict],
    sampling: SamplingParams,
    *,
    questions_per_call: int,
    description: str = "rollouts",
) -> pa.Table:
    """Sample `sampling.k` solutions per question; each call gets its own seed so a rerun
    with the same params samples the same rows."""
    rows = []
    with tqdm(total=len(questions), desc=description, unit="question") as progress:
        for call, start in enumerate(range(0, len(questions), questions_per_call)):
            chunk = questions[start : start + questions_per_call]
            samples = generator.generate(
                [student_prompt(q["question"]) for q in chunk],
                n=sampling.k,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_new_tokens=sampling.max_new_tokens,
                seed=sampling.seed * 1_000_003 + call,
            )
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
            progress.update(len(chunk))
    return pa.Table.from_pylist(rows, schema=SCHEMAS["rollouts"])


def summarise(table: pa.Table) -> dict:
    correct = table.column("is_correct").to_pylist()
    return {
        "rollouts": len(correct),
        "correct_share": round(sum(correct) / max(len(correct), 1), 4),
        "generated_tokens": sum(table.column("n_tokens").to_pylist()),
    }


def greedy_accuracy(params: Params, *, model: Path, questions: list[dict], max_new_tokens: int) -> dict:
    """maj@1: the share of questions the model's greedy solution answers correctly."""
    task = get_task(params.task.name, params.task)
    greedy = SamplingParams(k=1, temperature=0.0, max_new_tokens=max_new_tokens)
    generator = make_generator(params.generator, model)
    table = sample_rollouts(
        generator, task, questions, greedy, questions_per_call=params.generator.batch_size, description="greedy"
    )
    return {"greedy_accuracy": summarise(table)["correct_share"], "questions": len(questions)}


def rollouts(params: Params, *, model: Path, questions: Path, out: Path) -> dict:
    task = get_task(params.task.name, params.task)
    train = [q for q in read_table("questions", questions).to_pylist() if q["split"] == "train"]
    if params.rollouts.max_questions:
        train = train[: params.rollouts.max_questions]
    generator = make_generator(params.generator, model)
    per_call = max(1, params.generator.batch_size // params.rollouts.sampling.k)
    table = sample_rollouts(generator, task, train, params.rollouts.sampling, questions_per_call=per_call)
    write_table("rollouts", table, out)
    return summarise(table)
