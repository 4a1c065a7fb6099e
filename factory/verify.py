"""`verify` stage: the SORM's verifiers. For each incorrect rollout and each step i < L, the
student continues the prefix P_i = steps 1..i; one row per continuation.

A correct rollout needs no verifiers: its last step is positive, so back-propagation makes
every step positive. The last step of an incorrect rollout needs none either: P_L is the whole
solution, judged by its own answer.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from factory.generation import Completion, Generator, make_generator
from factory.params import Params, SamplingParams, VerifyParams
from factory.prompts import prefix_prompt
from factory.shards import Shards, fingerprint
from factory.tables import SCHEMAS, read_table, require_columns
from factory.tasks import Task, get_task
from factory.tasks.answers import numbers_in


@dataclass(frozen=True)
class Request:
    """One verifier: continuation `verifier_idx` of rollout `rollout_id` after its step `step`."""

    rollout_id: str
    step: int
    verifier_idx: int
    prompt: str


# Continues each request's prompt once; one call is one batch for the generator.
Sampler = Callable[[Sequence[Request]], list[Completion]]


def generator_sampler(generator: Generator, sampling: SamplingParams) -> Sampler:
    """A Sampler on the student. Each call's seed comes from the requests it carries (no call
    counter), so a rerun, or a resumed run that skips finished units, samples the same
    continuations for the same batch."""

    def sample(requests: Sequence[Request]) -> list[Completion]:
        # A stream of seeds of its own, apart from the rollouts stage's `seed * 1_000_003 + chunk`:
        # the same seeds would replay the rollouts' random draws in the verifiers.
        keys = "|".join(f"{r.rollout_id}:{r.step}:{r.verifier_idx}" for r in requests)
        seed = random.Random(f"verify:{sampling.seed}:{keys}").getrandbits(31)
        completions = generator.generate(
            [request.prompt for request in requests],
            n=1,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_new_tokens=sampling.max_new_tokens,
            seed=seed,
        )
        return [samples[0] for samples in completions]

    return sample


def counts(is_correct: bool, step_result: str | None, continuation_numbers: Sequence[str]) -> bool:
    """Whether a continuation makes its prefix positive: it reaches the answer and (rule 2,
    consistency) uses the step's result. The same rule as sql/sorm_labels.sql, which decides
    the labels; here it only tells the backward search where to stop."""
    return is_correct and (step_result is None or step_result in continuation_numbers)


def verify_rollouts(
    sample: Sampler,
    task: Task,
    rollouts: Sequence[dict],
    questions: dict[str, dict],
    params: VerifyParams,
    *,
    batch_size: int,
    progress_bar: bool = True,
) -> list[dict]:
    """Verification rows for `rollouts` (incorrect ones), in the order they were sampled.

    exhaustive: every step i < L gets all K verifiers, in batches across rollouts.
    backward: rounds of one request per rollout, from step L-1 down and verifier 0 up; a rollout
    stops at its first continuation that counts, since every earlier step is then positive by
    back-propagation and later steps have had all K verifiers fail. Both give the same labels
    wherever the sampler returns the same continuation for the same (rollout, step, verifier).
    """
    k = params.sampling.k
    pending = {
        rollout["rollout_id"]: deque(
            (step, verifier_idx) for step in range(len(rollout["steps"]) - 1, 0, -1) for verifier_idx in range(k)
        )
        for rollout in rollouts
    }
    by_id = {rollout["rollout_id"]: rollout for rollout in rollouts}
    rows: list[dict] = []
    with tqdm(total=sum(map(len, pending.values())), desc=f"verify ({params.search})", unit="continuation",
              disable=not progress_bar) as bar:
        while any(pending.values()):
            if params.search == "exhaustive":
                round_ = [(rollout_id, *key) for rollout_id, queue in pending.items() for key in queue]
                for queue in pending.values():
                    queue.clear()
            else:
                round_ = [(rollout_id, *queue.popleft()) for rollout_id, queue in pending.items() if queue]
            requests = []
            for rollout_id, step, verifier_idx in round_:
                rollout = by_id[rollout_id]
                prompt = prefix_prompt(questions[rollout["question_id"]]["question"], rollout["steps"][:step])
                requests.append(Request(rollout_id, step, verifier_idx, prompt))
            for start in range(0, len(requests), batch_size):
                chunk = requests[start : start + batch_size]
                for request, completion in zip(chunk, sample(chunk)):
                    rollout = by_id[request.rollout_id]
                    row = _row(task, request, completion, questions[rollout["question_id"]]["answer"])
                    rows.append(row)
                    result = rollout["step_results"][request.step - 1]
                    if params.search == "backward" and counts(row["is_correct"], result, row["continuation_numbers"]):
                        skipped = pending[request.rollout_id]
                        bar.total -= len(skipped)  # the bar counts the work that is still to do
                        skipped.clear()
                bar.update(len(chunk))
    return rows


def _row(task: Task, request: Request, completion: Completion, answer: str) -> dict:
    final_answer = task.extract_answer(completion.text)
    return {
        "rollout_id": request.rollout_id,
        "step": request.step,
        "verifier_idx": request.verifier_idx,
        "continuation": task.split_steps(completion.text),
        "continuation_numbers": numbers_in(completion.text),
        "final_answer": final_answer,
        "is_correct": task.is_correct(final_answer, answer),
        "n_tokens": completion.n_tokens,
    }


def verify(params: Params, *, model: Path, rollouts: Path, questions: Path, out: Path) -> dict:
    """Verify the incorrect rollouts a unit at a time (unit_size rollouts), each unit's rows
    flushed to a shard: a killed run resumes at its first unfinished unit, and memory does not
    grow with the rollouts."""
    from factory.expectations import validate_file

    task = get_task(params.task.name, params.task)
    require_columns("rollouts", rollouts)
    validate_file("rollouts", rollouts)  # streamed below, so checked a batch at a time first
    by_id = {question["question_id"]: question for question in read_table("questions", questions).to_pylist()}
    shards = Shards("verifications", out, fingerprint(task=params.task, generator=params.generator,
                                                      verify=params.verify, model=model, rollouts=rollouts,
                                                      questions=questions))
    resumed = len(shards.done)
    sample = cache(lambda: generator_sampler(make_generator(params.generator, model), params.verify.sampling))
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
                                       batch_size=params.generator.batch_size, progress_bar=False)
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


def seeded_hash(key: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big")


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
