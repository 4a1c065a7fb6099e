"""One Generator protocol for every stage that samples text; hf (CPU default) and vllm backends."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from factory import GloreError
from factory.generation.protocol import Completion, Generator, context_error, cut_at_answer, cut_at_stop
from factory.params import GeneratorParams

__all__ = ["Completion", "Generator", "context_error", "cut_at_answer", "cut_at_stop", "make_generator"]


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


def _vllm_usable() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()
