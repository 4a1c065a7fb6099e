"""One Generator protocol for every stage that samples text; hf (CPU default) and vllm backends."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from factory import GloreError
from factory.params import GeneratorParams
from factory.prompts import ANSWER_PREFIX


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int  # generated tokens, the cost of this sample


class Generator(Protocol):
    def generate(
        self,
        prompts: Sequence[str],
        *,
        n: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
        stop: Sequence[str] = (),
    ) -> list[list[Completion]]:
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


def make_generator(params: GeneratorParams, model_path: str | Path) -> Generator:
    """The backend named in params; `auto` takes vLLM when it is installed and a GPU is present."""
    backend = params.backend
    if backend == "auto":
        backend = "vllm" if _vllm_usable() else "hf"
    if backend == "vllm":
        if importlib.util.find_spec("vllm") is None:
            raise GloreError("generator.backend is vllm, but vllm is not installed (pip install -e '.[vllm]')")
        from factory.generation.vllm import VLLMGenerator

        return VLLMGenerator(model_path, params=params)
    from factory.generation.hf import HFGenerator

    return HFGenerator(model_path, batch_size=params.batch_size)


def context_error(prompt_tokens: int, max_new_tokens: int, context: int) -> GloreError:
    """The one message both backends give for a request that does not fit the model."""
    return GloreError(
        f"prompt of {prompt_tokens} tokens + max_new_tokens {max_new_tokens} exceeds "
        f"the model's context of {context} tokens"
    )


def _vllm_usable() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()
