"""The parts of the vLLM backend that need no engine: sharding, GPU assignment, seeds, errors."""

from __future__ import annotations

import importlib.util

import pytest

from factory import GloreError
from factory.generation import cut_at_stop, make_generator
from factory.generation.vllm import _devices_per_rank, _request_seeds, _split
from factory.params import GeneratorParams


def test_shards_are_contiguous_in_order_and_even():
    items = list(range(7))
    shards = _split(items, 3)
    assert shards == [[0, 1, 2], [3, 4], [5, 6]]
    assert _split(items[:2], 3) == [[0], [1], []]


def test_each_rank_sees_its_own_block_of_the_visible_gpus(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    assert _devices_per_rank(2, 2) == ["4,5", "6,7"]
    assert _devices_per_rank(4, 1) == ["4", "5", "6", "7"]
    with pytest.raises(GloreError, match="need 6 GPUs, 4 visible"):
        _devices_per_rank(3, 2)


def test_without_gpus_every_rank_shares_the_cpu(monkeypatch):
    import torch

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert _devices_per_rank(2, 1) == [None, None]


def test_request_seeds_are_repeatable_distinct_and_leave_room_for_k_samples():
    seeds = _request_seeds(5, 1000)
    assert seeds == _request_seeds(5, 1000)
    assert seeds != _request_seeds(6, 1000)
    assert len(set(seeds)) == 1000
    assert all(0 <= seed < 2**62 for seed in seeds)  # seed + j stays an int64


def test_the_stop_string_completed_first_wins():
    assert cut_at_stop("a = b\nc", ["\n", " ="]) == "a"
    assert cut_at_stop("xab", ["ab", "b"]) == "x"  # both complete at "b": the earlier listed wins
    assert cut_at_stop("abc", ["abc", "b"]) == "a"  # "abc" starts earlier, but "b" completes first
    assert cut_at_stop("no stop here", ["\n", ""]) == "no stop here"


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_asking_for_vllm_without_it_is_a_one_line_error(tmp_path):
    with pytest.raises(GloreError, match="vllm is not installed"):
        make_generator(GeneratorParams(backend="vllm"), tmp_path)


@pytest.mark.parametrize(
    "bad",
    [{"data_parallel_size": 0}, {"pipeline_parallel_size": 0}, {"distributed_executor_backend": "slurm"},
     {"gpu_memory_utilization": 0.0}, {"dtype": "int8"}, {"block_size": -1}],
)
def test_generator_params_refuse_impossible_settings(bad):
    with pytest.raises(ValueError):
        GeneratorParams(**bad)


def test_an_engine_takes_no_more_of_the_gpu_than_is_free(monkeypatch):
    """The scorers of evaluate and refine-drafts stay on the GPU: vLLM would refuse a share
    larger than what is free, so the share is capped at that."""
    import torch

    from factory.generation import sized_to_free_memory

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (60 * 2**30, 100 * 2**30))
    assert sized_to_free_memory(GeneratorParams()).gpu_memory_utilization == 0.58
    assert sized_to_free_memory(GeneratorParams(gpu_memory_utilization=0.3)).gpu_memory_utilization == 0.3
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (2**20, 100 * 2**30))
    with pytest.raises(GloreError, match="no GPU memory left"):
        sized_to_free_memory(GeneratorParams())
