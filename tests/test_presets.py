from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from factory.params_file import load_params

ROOT = Path(__file__).parent.parent
PRESETS = sorted((ROOT / "configs").glob("*-llama2-*.yaml"))


def test_the_real_run_presets_exist():
    assert [path.stem for path in PRESETS] == ["gsm8k-llama2-13b", "gsm8k-llama2-7b", "svamp-llama2-7b"]
    assert sorted(path.stem for path in (ROOT / "configs").glob("*.yaml")) == [
        "gsm8k-llama2-13b", "gsm8k-llama2-7b", "smollm2-arith", "svamp-llama2-7b"]


def test_the_smollm2_preset_starts_every_model_from_the_folder_make_smollm2_writes():
    params = load_params(ROOT / "configs" / "smollm2-arith.yaml")
    assert f"SMOLLM2 ?= {params.base.source}" in (ROOT / "Makefile").read_text()
    assert params.reward.init == params.refiner.init == "student"
    assert params.reward.surprisal is False  # a second frozen copy of a 135M student would double the cost
    assert params.generator.backend == "hf" and params.task.name == "arith"
    assert params.task.n_train + params.task.n_test <= 100 and params.sft.eval_base


@pytest.mark.parametrize("path", PRESETS, ids=lambda path: path.stem)
def test_preset_loads_with_the_papers_settings(path):
    params = load_params(path)
    task, size = path.stem.split("-llama2-")
    assert params.task.name == task
    assert params.base.source == f"meta-llama/Llama-2-{size}-hf"
    assert params.generator.backend == "vllm"
    assert params.rollouts.sampling.k == 96 and params.ei.sampling.k == 96
    assert (params.verify.sampling.k, params.verify.sampling.max_new_tokens) == (8, 300)
    for train in (params.sft.train, params.ei.train):
        assert (train.epochs, train.lr, train.min_lr, train.batch_size) == (4, 2e-5, 2e-7, 128)
    assert params.reward.surprisal is False  # the paper's plain classifier
    assert (params.reward.train.epochs, params.reward.train.lr, params.reward.train.min_lr,
            params.reward.train.batch_size) == (1, 2e-6, 2e-7, 256)
    assert (params.refiner.train.epochs, params.refiner.train.lr, params.refiner.train.min_lr,
            params.refiner.train.batch_size) == (1, 2e-5, 2e-7, 128)


def _dvc_params() -> set[str]:
    """Every params key a stage of dvc.yaml reads (`dvc exp run` with a preset fails on a missing one)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {key for stage in stages.values() for key in stage.get("do", stage).get("params", [])
            if isinstance(key, str)}


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda path: path.stem)
def test_preset_holds_every_param_dvc_reads(path):
    preset = yaml.safe_load(path.read_text())
    missing = []
    for key in sorted(_dvc_params()):
        section = preset
        for part in key.split("."):
            if not isinstance(section, dict) or part not in section:
                missing.append(key)
                break
            section = section[part]
    assert not missing, f"{path.name} lacks {missing}"
