"""Every stage of dvc.yaml, in order, through the CLI with its default paths, on a tiny config.

Generation is a scripted stand-in for the student (tests/scripted_generator.py), so the labels
and pairs are rich while training stays a few steps; everything else is the real code."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml
from tiny_params import TINY_PARAMS
from scripted_generator import ScriptedGenerator
from typer.testing import CliRunner

from factory.cli import app

PIPELINE = [
    ["prepare"], ["base"], ["sft"], ["ei"], ["rollouts"], ["verify"], ["label"],
    ["reward", "orm"], ["reward", "orm_balanced"], ["reward", "sorm"],
    ["refiner", "global"], ["refiner", "local"], ["refiner", "value"],
    ["drafts"], ["evaluate"],
]
PARAMS = {
    **TINY_PARAMS,
    "task": {**TINY_PARAMS["task"], "n_train": 60, "n_test": 10, "n_dev": 5},
    "rollouts": {"max_questions": 20, "sampling": {"k": 4, "max_new_tokens": 24}},
    "verify": {"sampling": {"k": 2, "max_new_tokens": 24}, "search": "exhaustive"},
    "label": {"incomplete": "drop"},
    "evaluate": {"bo": 3, "max_new_tokens": 24, "sampling": {"k": 4, "max_new_tokens": 24}},
    "drafts": {"max_new_tokens": 24},
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    return tmp_path


def run(*args: str) -> dict:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"glore {' '.join(args)}: {result.output[-2000:]}"
    return result


def test_the_whole_pipeline_runs_with_default_paths(workdir, monkeypatch):
    import factory.generation.hf as hf

    run("prepare")
    questions = pq.read_table("data/questions.parquet").to_pylist()
    monkeypatch.setattr(hf, "HFGenerator", lambda path, batch_size=64, dtype="auto": ScriptedGenerator(questions))
    for stage in PIPELINE[1:]:
        run(*stage)

    for table in ("rollouts", "verifications", "sorm_labels", "sorm_steps", "orm_steps", "orm_balanced_steps",
                  "refine_global", "refine_local", "refine_value", "drafts"):
        assert pq.read_table(f"data/{table}.parquet").num_rows > 0, table
    for model in ("base", "sft", "student", "orm", "orm_balanced", "sorm", "refiner_global", "refiner_local",
                  "refiner_value"):
        assert (workdir / "models" / model / "config.json").is_file(), model

    result = json.loads((workdir / "metrics/evaluate.json").read_text())
    assert set(result["reward_models"]) == {"orm", "orm_balanced", "sorm"}
    assert result["sorm_label_quality"]["sorm_labels_vs_exact"]["n"] > 0
    assert 0 <= result["reranking"]["orm_rerank_draft_global_local_sorm"] <= 1
    claims = json.loads((workdir / "metrics/claims.json").read_text())
    assert claims == result["claims"] and len(claims) >= 6
    report = (workdir / "metrics/report.md").read_text()
    for heading in ("Table 5", "Tables 1 and 2", "appendix G", "Figure 3", "Figure 4", "appendix D", "claims"):
        assert heading in report
    for figure in ("refinement.png", "reranking.png", "step_accuracy.png", "step_accuracy.csv"):
        assert (workdir / "metrics" / figure).stat().st_size > 0

    run("export", "sorm")
    from datasets import load_dataset

    exported = load_dataset("parquet", data_files="data/export/sorm_stepwise.parquet", split="train")
    assert set(exported.column_names) == {"prompt", "completions", "labels"}
    assert all(len(row["completions"]) == len(row["labels"]) for row in exported)
