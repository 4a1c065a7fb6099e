"""`sft` stage: fine-tune the base model on reference solutions (or, for a task without them,
on its own correct 1-shot samples), then score it greedily on test."""

from __future__ import annotations

from pathlib import Path

from factory import GloreError
from factory.generation import make_generator
from factory.params import Params
from factory.prompts import chat_tokenizer, one_shot_prompt, solution_text, student_prompt
from factory.sampling import correct_solutions, greedy_accuracy
from factory.tables import read_table
from factory.tasks import get_task


def one_shot_solutions(params: Params, *, base_model: Path, questions: list[dict]) -> list[tuple[str, str]]:
    """(question, solution) pairs from 1-shot prompting the base model, correct ones only,
    de-duplicated: the paper's first student data for SVAMP, which has no solutions."""
    task = get_task(params.task.name, params.task)
    sampling = params.sft.bootstrap
    tokenizer = chat_tokenizer(base_model)
    generator = make_generator(params.generator, base_model)
    outputs = generator.generate(
        [one_shot_prompt(q["question"], params.task.shot, tokenizer) for q in questions],
        n=sampling.k,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_new_tokens=sampling.max_new_tokens,
        seed=sampling.seed,
        stop=("\n\nQuestion:",),  # the model would go on to invent the next example
    )
    rows = [
        {"question_id": q["question_id"], "steps": task.split_steps(c.text), "final_answer": task.extract_answer(c.text),
         "is_correct": task.is_correct(task.extract_answer(c.text), q["answer"])}
        for q, completions in zip(questions, outputs)
        for c in completions
    ]
    text = {q["question_id"]: q["question"] for q in questions}
    return [(text[question_id], solution) for (question_id, _), solution in sorted(correct_solutions(rows).items())]


def sft(params: Params, *, base_model: Path, questions: Path, out: Path) -> dict:
    from trainers.causal_lm import train_causal_lm

    table = read_table("questions", questions).to_pylist()
    train = [q for q in table if q["split"] == "train"]
    test = [q for q in table if q["split"] == "test"][: params.sft.eval_questions]
    before = {}
    if params.sft.eval_base:
        before["base_test"] = greedy_accuracy(params, model=base_model, questions=test,
                                              max_new_tokens=params.sft.max_new_tokens)
    pairs = [(q["question"], solution_text(q["solution"], q["answer"])) for q in train if q["solution"]]
    source = "reference solutions"
    if not pairs:
        pairs, source = one_shot_solutions(params, base_model=base_model, questions=train), "1-shot samples"
        if not pairs:
            raise GloreError("1-shot prompting the base model gave no correct solution to train on")
    tokenizer = chat_tokenizer(base_model)
    stats = train_causal_lm(
        base_model=base_model,
        prompts=[student_prompt(question, tokenizer) for question, _ in pairs],
        completions=[solution for _, solution in pairs],
        params=params.sft.train,
        out=out,
    )
    accuracy = greedy_accuracy(params, model=out, questions=test, max_new_tokens=params.sft.max_new_tokens)
    return {**stats, "data": source, **before, "test": accuracy}
