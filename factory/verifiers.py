"""The SORM's verifiers: K student continuations of a step prefix P_i, and whether a correct
one counts for the step (the paper's consistency rule). The verify and drafts stages share it."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tqdm import tqdm

from factory.generation import Completion, Generator
from factory.params import SamplingParams, VerifyParams
from factory.prompts import prefix_prompt
from factory.tasks import Task
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
    tokenizer: object | None,
    progress_bar: bool = True,
) -> list[dict]:
    """Verification rows for `rollouts` (incorrect ones), in the order they were sampled; the
    prefixes are prompted through `tokenizer`'s chat template where the student has one.

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
                prompt = prefix_prompt(questions[rollout["question_id"]]["question"], rollout["steps"][:step], tokenizer)
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
