"""vLLM backend: an engine (one per data-parallel rank) per generator, prefix caching on, shut
down by `close` (factory.generation.Engine: one alive at a time).

Each call hands all its requests to the engine(s) at once, so the K continuations of a prefix
and the prefixes of one rollout share their prefill through the prefix cache.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.util
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from factory import GloreError, from_pretrained
from factory.generation.protocol import Completion, context_error, cut_at_answer
from factory.params import GeneratorParams

# What an engine gets per prompt: its token ids and its seed (the sampling options are shared).
_Request = tuple[list[int], int]


class VLLMGenerator:
    def __init__(self, model_path: str | Path, *, params: GeneratorParams) -> None:
        from transformers import AutoTokenizer

        model_path = str(model_path)
        # Prompts are tokenised here, once, so the context check sees exactly what vLLM runs.
        self.tokenizer = from_pretrained(AutoTokenizer, model_path, what="a tokenizer")
        if params.data_parallel_size == 1:
            self.engines: list[_Engine | _EngineProcess] = [_Engine(model_path, params)]
        else:
            self.engines = [
                _EngineProcess(model_path, params, devices)
                for devices in _devices_per_rank(
                    params.data_parallel_size, params.tensor_parallel_size * params.pipeline_parallel_size
                )
            ]
        self.context, self.dtype = self.engines[0].submit("describe").result()

    def close(self) -> None:
        """Shut every engine down now, handing its GPUs back (a data-parallel rank's process exits)."""
        for engine in self.engines:
            engine.close()
        self.engines = []

    def generate(self, prompts: Sequence[str], *, n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Sequence[str] = ()) -> list[list[Completion]]:
        if not prompts:
            return []
        token_ids = self.tokenizer(list(prompts))["input_ids"]
        longest = max(map(len, token_ids))
        # vLLM itself refuses only a prompt that fills the context alone, and otherwise stops
        # short at the context's end; refusing here keeps the contract of the hf backend.
        if longest + max_new_tokens > self.context:
            raise context_error(longest, max_new_tokens, self.context)
        requests = list(zip(token_ids, _request_seeds(seed, len(prompts))))
        options = {
            "n": n, "temperature": temperature, "top_p": top_p, "max_tokens": max_new_tokens, "stop": list(stop)
        }
        # Contiguous shards keep the prefixes of one rollout on one engine, where they share cache.
        shards = _split(requests, len(self.engines))
        pending = [engine.submit("generate", shard, options) for engine, shard in zip(self.engines, shards)]
        return [completions for future in pending for completions in future.result()]

    def prefix_cache_counts(self) -> tuple[int, int]:
        """(prompt tokens looked up, tokens found) in the prefix cache since the engines started."""
        counts = [future.result() for future in [engine.submit("cache_counts") for engine in self.engines]]
        return sum(queries for queries, _ in counts), sum(hits for _, hits in counts)

    def reset_prefix_cache(self) -> None:
        """Forget cached prefixes, so that a benchmark's repeated runs each start cold."""
        for future in [engine.submit("reset_prefix_cache") for engine in self.engines]:
            future.result()


class _Engine:
    """One vLLM `LLM` in this process."""

    def __init__(self, model_path: str, params: GeneratorParams) -> None:
        backend = params.distributed_executor_backend
        self.llm = _vllm().LLM(
            model=model_path,
            tensor_parallel_size=params.tensor_parallel_size,
            pipeline_parallel_size=params.pipeline_parallel_size,
            distributed_executor_backend=None if backend == "auto" else backend,
            gpu_memory_utilization=params.gpu_memory_utilization,
            dtype=params.dtype,
            enforce_eager=params.enforce_eager,
            enable_prefix_caching=True,
            **({"block_size": params.block_size} if params.block_size else {}),
            disable_log_stats=False,  # keeps the prefix-cache counters
        )
        # At exit multiprocessing waits for its child processes before vLLM's own clean-up stops
        # the engine-core process, and so waits forever; a finalizer of ours runs first (and
        # when this engine is dropped, freeing its GPUs for the next model).
        self.shutdown = multiprocessing.util.Finalize(self, self.llm.llm_engine.engine_core.shutdown, exitpriority=10)

    def submit(self, method: str, *args) -> Future:
        """Run `method` now; a finished future, so callers treat every engine alike."""
        future: Future = Future()
        future.set_result(getattr(self, method)(*args))
        return future

    def describe(self) -> tuple[int, str]:
        """(context in tokens, the dtype the model runs at)."""
        config = self.llm.llm_engine.model_config
        return config.max_model_len, str(config.dtype).removeprefix("torch.")

    def close(self) -> None:
        self.shutdown()  # a Finalize runs once: not again when this object is dropped
        del self.llm

    def generate(self, requests: list[_Request], options: dict) -> list[list[Completion]]:
        n = options["n"]
        # vLLM refuses n > 1 when greedy; greedy samples are identical, so decode once and copy.
        copies = n if options["temperature"] == 0 else 1
        sampling_params = _vllm().SamplingParams
        sampling = [
            sampling_params(
                n=n // copies,
                temperature=options["temperature"],
                top_p=options["top_p"],
                max_tokens=options["max_tokens"],
                stop=options["stop"] or None,
                seed=seed,
            )
            for _, seed in requests
        ]
        prompts = [{"prompt_token_ids": ids} for ids, _ in requests]
        results = []
        for output in self.llm.generate(prompts, sampling, use_tqdm=False):
            samples = sorted(output.outputs, key=lambda sample: sample.index)
            results.append([Completion(cut_at_answer(s.text), len(s.token_ids)) for s in samples] * copies)
        return results

    def cache_counts(self) -> tuple[int, int]:
        """(prompt tokens looked up, tokens found) in the prefix cache."""
        metrics = self.llm.get_metrics()
        return tuple(  # type: ignore[return-value]
            sum(int(metric.value) for metric in metrics if metric.name == name)
            for name in ("vllm:prefix_cache_queries", "vllm:prefix_cache_hits")
        )

    def reset_prefix_cache(self) -> None:
        self.llm.reset_prefix_cache()


class _EngineProcess:
    """An engine in a process of its own that sees only its GPUs: one data-parallel rank.

    `submit` returns at once, so that every rank works on its shard at the same time."""

    def __init__(self, model_path: str, params: GeneratorParams, devices: str | None) -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=1,
            # A forked child cannot use CUDA once the parent has initialised it (counting GPUs does).
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_engine,
            initargs=(model_path, params, devices),
        )

    def submit(self, method: str, *args) -> Future:
        return self.pool.submit(_call, method, *args)

    def close(self) -> None:
        # the worker exits; its engine's finalizer shuts vLLM down on the way out
        self.pool.shutdown(wait=True)


def _vllm():
    """The vllm module, first imported on a thread of its own. vLLM keeps an exception from its
    import where torchcodec is missing or finds no ffmpeg, and that traceback holds every frame
    then on the stack; on a fresh thread none is ours, so a dropped engine can still be freed."""
    if "vllm.entrypoints.llm" not in sys.modules:
        thread = threading.Thread(target=importlib.import_module, args=("vllm.entrypoints.llm",))
        thread.start()
        thread.join()
    import vllm

    return vllm


_ENGINE: _Engine | None = None  # the engine of a data-parallel worker process


def _start_engine(model_path: str, params: GeneratorParams, devices: str | None) -> None:
    global _ENGINE
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices
    _ENGINE = _Engine(model_path, params)


def _call(method: str, *args):
    return getattr(_ENGINE, method)(*args)


def _devices_per_rank(ranks: int, per_rank: int) -> list[str | None]:
    """CUDA_VISIBLE_DEVICES for each rank: consecutive blocks of `per_rank` of the visible GPUs.
    Without GPUs (vLLM's CPU build) every rank shares the CPU."""
    import torch

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    gpus = visible.split(",") if visible else [str(index) for index in range(torch.cuda.device_count())]
    if not gpus:
        return [None] * ranks
    if len(gpus) < ranks * per_rank:
        raise GloreError(
            f"{ranks} data-parallel engines of {per_rank} GPU(s) each need {ranks * per_rank} GPUs, "
            f"{len(gpus)} visible"
        )
    return [",".join(gpus[rank * per_rank : (rank + 1) * per_rank]) for rank in range(ranks)]


def _request_seeds(seed: int, count: int) -> list[int]:
    """An independent seed per prompt, the same whatever the number of ranks: equal prompts in
    one call still get different samples, as with hf. vLLM gives sample j of a prompt seed + j,
    so the seeds keep 62 bits, well clear of each other and of int64's end."""
    import numpy as np

    states = np.random.SeedSequence(seed).generate_state(count, dtype=np.uint64)
    return [int(state) >> 2 for state in states]


def _split(items: list, parts: int) -> list[list]:
    """`parts` contiguous slices, in order, sizes differing by at most one."""
    size, extra = divmod(len(items), parts)
    bounds = [rank * size + min(rank, extra) for rank in range(parts + 1)]
    return [items[bounds[rank] : bounds[rank + 1]] for rank in range(parts)]
