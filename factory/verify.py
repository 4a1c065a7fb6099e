"""`verify` stage: the SORM's verifiers. For each incorrect rollout and each step i < L, the
student continues the prefix P_i = steps 1..i; one row per continuation.

A correct rollout needs no verifiers: its last step is positive, so back-propagation makes
every step positive. The last step of an incorrect rollout needs none either: P_L is the whole
solution, judged by its own answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from factory import seeded_hash
from factory.catalogue import SCHEMAS
from factory.expectations import validate_file
from factory.generation import make_generator
from factory.params import Params, VerifyParams
from factory.prompts import chat_tokenizer
from factory.shards import Shards, fingerprint
from factory.tables import read_table, require_columns
from factory.tasks import get_task
from factory.verifiers import generator_sampler, verify_rollouts


def verify(params: Params, *, model: Path, rollouts: Path, questions: Path, out: Path) -> dict:
    """Verify the incorrect rollouts a unit at a time (unit_size rollouts), each unit's rows
    flushed to a shard: a killed run resumes at its first unfinished unit, and memory does not
    grow with the rollouts."""
    task = get_task(params.task.name, params.task)
    require_columns("rollouts", rollouts)
    validate_file("rollouts", rollouts)  # streamed below, so checked where it lies first
    by_id = {question["question_id"]: question for question in read_table("questions", questions).to_pylist()}
    shards = Shards("verifications", out, fingerprint(task=params.task, generator=params.generator,
                                                      verify=params.verify, model=model, rollouts=rollouts,
                                                      questions=questions))
    resumed = len(shards.done)
    sample = cache(lambda: generator_sampler(make_generator(params.generator, model), params.verify.sampling))
    tokenizer = chat_tokenizer(model)
    incorrect = count_incorrect(rollouts)
    questions_drawn = drawn_questions(rollouts, params.verify.max_rollouts, seed=params.verify.sampling.seed)
    chosen = incorrect_rollouts(rollouts, questions_drawn)
    units, verified = [], 0
    total = incorrect if questions_drawn is None else sum(questions_drawn.values())
    with tqdm(total=total, desc=f"verify ({params.verify.search})", unit="rollout") as progress:
        for index, group in enumerate(groups(chosen, unit_size(params))):
            unit = f"{index:06d}"
            units.append(unit)
            if unit not in shards:
                rows = verify_rollouts(sample(), task, group, by_id, params.verify,
                                       batch_size=params.generator.batch_size, tokenizer=tokenizer,
                                       progress_bar=False)
                shards.add(unit, pa.Table.from_pylist(rows, schema=SCHEMAS["verifications"]))
            verified += len(group)
            progress.update(len(group))
    shards.finish(units)
    summary = summarise(pq.ParquetFile(out).iter_batches(columns=["is_correct", "n_tokens"]), params.verify,
                        incorrect=incorrect, verified=verified)
    return {**summary, "resumed_units": resumed, "units": len(units)}


def unit_size(params: Params) -> int:
    """Incorrect rollouts per unit. Exhaustive sends K requests per step of each at once, so
    batch_size // K rollouts fill about one generator call per step; backward sends one request
    per rollout per round, so batch_size rollouts fill each round's call."""
    if params.verify.search == "exhaustive":
        return max(1, params.generator.batch_size // params.verify.sampling.k)
    return params.generator.batch_size


def drawn_questions(path: Path, max_rollouts: int, *, seed: int) -> dict[str, int] | None:
    """Whole questions in a seeded random order, as many as fit in `max_rollouts` incorrect
    rollouts, with their counts; None when every incorrect rollout is verified (0).

    Whole questions, so that the SORM sees the correct and the incorrect rollouts of the same
    questions (the label stage drops a question it cannot label whole); a random draw, so that
    the verified questions are not the file's first, easiest-to-reach ones."""
    if not max_rollouts:
        return None
    table = pq.read_table(path, columns=["question_id", "is_correct"])
    counts: dict[str, int] = {}
    for question_id, correct in zip(table.column("question_id").to_pylist(), table.column("is_correct").to_pylist()):
        counts[question_id] = counts.get(question_id, 0) + (not correct)
    order = sorted((q for q, n in counts.items() if n), key=lambda q: (seeded_hash(q, seed), q))
    drawn, total = {}, 0
    for question_id in order:
        if total + counts[question_id] > max_rollouts:
            break
        drawn[question_id] = counts[question_id]
        total += counts[question_id]
    return drawn


def incorrect_rollouts(path: Path, questions: dict[str, int] | None = None) -> Iterator[dict]:
    """The incorrect rollouts of a rollouts file (of `questions` only, if given) in file order,
    read a batch at a time."""
    for batch in pq.ParquetFile(path).iter_batches(columns=SCHEMAS["rollouts"].names):
        for row in batch.filter(pc.invert(batch.column("is_correct"))).to_pylist():
            if questions is None or row["question_id"] in questions:
                yield row


def count_incorrect(path: Path) -> int:
    return sum(pc.sum(pc.invert(batch.column("is_correct"))).as_py() or 0
               for batch in pq.ParquetFile(path).iter_batches(columns=["is_correct"]))


def groups(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(items)
    while group := list(islice(iterator, size)):
        yield group


def summarise(batches: Iterable[pa.RecordBatch], params: VerifyParams, *, incorrect: int, verified: int) -> dict:
    rows = correct = tokens = 0
    for batch in batches:
        rows += batch.num_rows
        correct += pc.sum(batch.column("is_correct")).as_py() or 0
        tokens += pc.sum(batch.column("n_tokens")).as_py() or 0
    return {
        "search": params.search,
        "incorrect_rollouts": incorrect,
        "verified_rollouts": verified,  # the rest (max_rollouts) are left to the label stage's `incomplete`
        "continuations": rows,
        "correct_share": round(correct / max(rows, 1), 4),
        "generated_tokens": tokens,
    }
