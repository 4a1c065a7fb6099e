"""How a solution is laid out for a step classifier: the one encoding for training and scoring.

A rollout is one sequence: prompt, then each step followed by the step boundary token
(a newline). A step's label sits on its boundary token; causal attention means the
prediction there sees exactly the prefix P_i, so one sequence carries every prefix. The
final answer line (`#### N`), when given, belongs to the last step: P_L is the whole
solution, so the last label sits after the answer line and the model sees the answer it judges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from factory import GloreError
from factory.prompts import ANSWER_PREFIX, student_prompt


def boundary_token_id(tokenizer) -> int:
    """The single token that ends a step; fail loudly if the tokenizer has none."""
    ids = tokenizer("\n", add_special_tokens=False)["input_ids"]
    # sentencepiece tokenizers may prepend a word-start piece; the newline itself must be one id
    if not ids or tokenizer.decode([ids[-1]]) != "\n":
        raise GloreError("tokenizer has no single newline token to mark step ends")
    return ids[-1]


@dataclass(frozen=True)
class EncodedSteps:
    input_ids: list[int]
    positions: list[int]  # index of each kept step's boundary token
    dropped: int  # steps cut off by max_length
    completion_start: int  # index of the first solution token (after the prompt)


def encode_steps(tokenizer, question: str, steps: Sequence[str], *, answer: str | None = None,
                 max_length: int) -> EncodedSteps:
    """Token ids of prompt + steps (+ the answer line after the last step), and where each
    step's label goes.

    Pieces are tokenised apart so that every boundary is exactly one known token; steps that
    would pass `max_length` are dropped and counted, never silently cut."""
    boundary = boundary_token_id(tokenizer)
    # the student's prompt as it was sampled: through its chat template where it has one
    input_ids = list(tokenizer(student_prompt(question, tokenizer), add_special_tokens=False)["input_ids"])
    start = len(input_ids)
    positions: list[int] = []
    step_ids = tokenizer(list(steps), add_special_tokens=False)["input_ids"] if steps else []
    if step_ids and answer is not None:
        answer_ids = tokenizer(f"{ANSWER_PREFIX}{answer}", add_special_tokens=False)["input_ids"]
        step_ids[-1] = [*step_ids[-1], boundary, *answer_ids]
    for index, ids in enumerate(step_ids):
        if len(input_ids) + len(ids) + 1 > max_length:
            return EncodedSteps(input_ids, positions, len(steps) - index, start)
        input_ids.extend(ids)
        input_ids.append(boundary)
        positions.append(len(input_ids) - 1)
    return EncodedSteps(input_ids, positions, 0, start)
