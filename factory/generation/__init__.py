"""One Generator protocol for every stage that samples text; hf (CPU default) and vllm backends.

Life cycle: a stage holds at most one engine at a time, through `Engine`, and releases it
(`close`, or the end of a `with` block) before it trains or starts another: a vLLM engine
reserves most of the GPU and refuses to start while another holds it."""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
from pathlib import Path

from factory import GloreError
from factory.generation.protocol import Completion, Generator, context_error, cut_at_answer, cut_at_stop
from factory.params import GeneratorParams

__all__ = [
    "Completion", "Engine", "Generator", "context_error", "cut_at_answer", "cut_at_stop", "free_device_memory",
    "make_generator",
]


def make_generator(params: GeneratorParams, model_path: str | Path) -> Generator:
    """The backend named in params; `auto` takes vLLM when it is installed and a GPU is present."""
    backend = params.backend
    if backend == "auto":
        backend = "vllm" if _vllm_usable() else "hf"
    if backend == "vllm":
        if importlib.util.find_spec("vllm") is None:
            raise GloreError("generator.backend is vllm, but vllm is not installed (pip install -e '.[vllm]')")
        from factory.generation.vllm import VLLMGenerator

        return VLLMGenerator(model_path, params=sized_to_free_memory(params))
    from factory.generation.hf import HFGenerator

    return HFGenerator(model_path, batch_size=params.batch_size, dtype=params.dtype)


class Engine:
    """The one generator of a model a stage may hold: started on first call (so a resumed run
    that has nothing left to sample loads no model), released by `close` or at the end of a
    `with` block; called again after that, it starts afresh."""

    def __init__(self, params: GeneratorParams, model_path: str | Path) -> None:
        self.params, self.model_path = params, model_path
        self.generator: Generator | None = None
        self.dtype = params.dtype  # the precision the engine ran at, once one has started

    def __call__(self) -> Generator:
        if self.generator is None:
            self.generator = make_generator(self.params, self.model_path)
            self.dtype = getattr(self.generator, "dtype", self.params.dtype)
        return self.generator

    def close(self) -> None:
        generator, self.generator = self.generator, None
        if generator is not None:
            close = getattr(generator, "close", None)  # a stand-in may hold nothing to release
            if close is not None:
                close()
            free_device_memory()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def free_device_memory() -> None:
    """Hand memory freed by dropped models back to the device (PyTorch's caching allocator keeps
    it reserved otherwise), so the next engine finds it free: after generation and training."""
    gc.collect()  # engines and trainers hold reference cycles
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def sized_to_free_memory(params: GeneratorParams) -> GeneratorParams:
    """vLLM refuses to start when less than `gpu_memory_utilization` of the GPU is free, and the
    scorers of evaluate and refine-drafts stay on the GPU: the share is capped at what is free."""
    import torch

    if not torch.cuda.is_available():
        return params
    free_device_memory()  # memory this process cached but no longer uses is free for the engine
    free, total = torch.cuda.mem_get_info()
    share = round(free / total - 0.02, 3)  # a little headroom for what the engine's start allocates
    if share <= 0:
        raise GloreError(f"no GPU memory left for a generation engine ({free / 2**30:.1f} GiB free)")
    return dataclasses.replace(params, gpu_memory_utilization=min(params.gpu_memory_utilization, share))


def _vllm_usable() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()
