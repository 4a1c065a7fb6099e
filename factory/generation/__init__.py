"""One Generator protocol for every stage that samples text; hf (CPU default) and vllm backends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
    ) -> list[list[Completion]]:
        """n completions per prompt, in prompt order; the same seed gives the same samples."""
        ...


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
        from factory.generation.vllm import VLLMGenerator

        return VLLMGenerator(model_path, params=params)
    from factory.generation.hf import HFGenerator

    return HFGenerator(model_path, batch_size=params.batch_size)


def _vllm_usable() -> bool:
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()
