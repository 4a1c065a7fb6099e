"""The Generator protocol every backend implements, and the rules of a completion's text they
share so that hf and vLLM cut and refuse alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from factory import GloreError
from factory.prompts import ANSWER_PREFIX


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int  # generated tokens, the cost of this sample


class Generator(Protocol):
    def generate(self, prompts: Sequence[str], *, n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Sequence[str] = ()) -> list[list[Completion]]:
        """n completions per prompt, in prompt order; the same seed gives the same samples.

        A completion ends at the first of `stop` (the stop string itself is dropped) and after
        its `#### N` answer line. A prompt whose tokens plus `max_new_tokens` exceed the model's
        context raises GloreError before anything is generated."""
        ...


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Text before the stop string that completes first (ties: the earlier in `stop`).

    vLLM cuts its output this way as it generates; hf cuts afterwards with this, so both agree."""
    best_end, cut = len(text) + 1, len(text)
    for string in stop:
        start = text.find(string) if string else -1
        if start != -1 and start + len(string) < best_end:
            best_end, cut = start + len(string), start
    return text[:cut]


def cut_at_answer(text: str) -> str:
    """A solution ends with its `#### N` line; anything generated after it is dropped."""
    start = text.find(ANSWER_PREFIX)
    if start == -1:
        return text
    end = text.find("\n", start)
    return text if end == -1 else text[:end]


def context_error(prompt_tokens: int, max_new_tokens: int, context: int) -> GloreError:
    """The one message both backends give for a request that does not fit the model."""
    return GloreError(
        f"prompt of {prompt_tokens} tokens + max_new_tokens {max_new_tokens} exceeds "
        f"the model's context of {context} tokens"
    )
