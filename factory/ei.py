"""`ei` stage: expert iteration, the student policy every later stage samples.

Round r samples K solutions per train question from the current student, keeps the
correct ones, de-duplicates them, and trains a fresh copy of the *base* model on
D_r = R_r ∪ D_{r-1} (plus the reference solutions where the task has them). It stops when
maj@1 on the dev split improves by no more than `min_improvement`, or at `max_rounds`,
and keeps the best round's model.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from factory.generation import Engine, free_device_memory
from factory.params import Params
from factory.prompts import chat_tokenizer, solution_text, student_prompt
from factory.sampling import correct_solutions, greedy_accuracy, sample_into
from factory.shards import Shards, fingerprint
from factory.tables import read_table, replace_dir
from factory.tasks import get_task


def ei(params: Params, *, base_model: Path, sft_model: Path, questions: Path, out: Path) -> dict:
    from trainers.causal_lm import train_causal_lm

    config = params.ei
    task = get_task(params.task.name, params.task)
    table = read_table("questions", questions).to_pylist()
    train = [q for q in table if q["split"] == "train"]
    dev = [q for q in table if q["split"] == "dev"][: config.eval_questions]
    if not dev:
        raise ValueError("ei needs dev questions to decide when to stop: set task.n_dev > 0")
    question_text = {q["question_id"]: q["question"] for q in train}
    reference = [(q["question"], solution_text(q["solution"], q["answer"])) for q in train if q["solution"]]
    sampled = train[: config.max_questions] if config.max_questions else train
    tokenizer = chat_tokenizer(base_model)  # every round trains the base model, and its students share it

    dtypes: set[str] = set()  # the precision every engine ran at, for the summary

    def dev_accuracy(model: Path) -> float:
        result = greedy_accuracy(params, model=model, questions=dev, max_new_tokens=config.sampling.max_new_tokens)
        dtypes.add(result["dtype"])
        return result["greedy_accuracy"]

    # A folder named by everything the rounds depend on: rerun after a kill, the stage finds the
    # units sampled and the round models trained so far (the trainer swaps a model in whole, so
    # one that exists is complete); other configurations' leftovers are removed.
    key = fingerprint(task=params.task, generator=params.generator, ei=config, base_model=base_model,
                      sft_model=sft_model, questions=questions)
    work = out.parent / f".{out.name}.ei-{key[:16]}"
    for stale in out.parent.glob(f".{out.name}.ei-*"):
        if stale != work:
            shutil.rmtree(stale, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    best_model, best, chosen = sft_model, dev_accuracy(sft_model), 0
    history = [{"round": 0, "dev_maj1": best, "dataset": len(reference), "new_solutions": 0}]
    dataset: dict[tuple[str, str], str] = {}
    for round_number in range(1, config.max_rounds + 1):
        per_call = max(1, params.generator.batch_size // config.sampling.k)
        sampling = dataclasses.replace(config.sampling, seed=config.sampling.seed + round_number)
        shards = Shards("rollouts", work / f"round{round_number}.parquet",
                        fingerprint(round=round_number, model=best_model))
        # released before training: the trainer and the next engine need the device
        with Engine(params.generator, best_model) as generator:
            units = sample_into(shards, generator, task, sampled, sampling, questions_per_call=per_call,
                                tokenizer=tokenizer, description=f"ei round {round_number}")
        before = len(dataset)
        dataset.update(correct_solutions(shards.read(units).to_pylist()))
        pairs = (reference if config.with_reference else []) + [
            (question_text[question_id], text) for (question_id, _), text in sorted(dataset.items())
        ]
        candidate = work / f"round{round_number}"
        if not candidate.exists():
            train_causal_lm(
                base_model=base_model,
                prompts=[student_prompt(question, tokenizer) for question, _ in pairs],
                completions=[text for _, text in pairs],
                params=config.train,
                out=candidate,
            )
            free_device_memory()  # the trained model's memory, for the engine that scores it
        accuracy = dev_accuracy(candidate)
        history.append({"round": round_number, "dev_maj1": accuracy, "dataset": len(pairs),
                        "new_solutions": len(dataset) - before})
        if accuracy - best <= config.min_improvement:
            break
        best_model, best, chosen = candidate, accuracy, round_number
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    shutil.rmtree(staged)
    shutil.copytree(best_model, staged)
    replace_dir(staged, out)
    # only once the student is in place: a failed or killed run keeps its rounds to resume from
    shutil.rmtree(work, ignore_errors=True)
    return {"rounds": history, "chosen_round": chosen, "dev_maj1": best, "dtype": ",".join(sorted(dtypes))}
