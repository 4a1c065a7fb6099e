"""`glore train-prm` on a few imported rows with the tiny model, then `glore processbench` with
the folder it wrote, on a local file and on the hub's layout (a monkeypatched loader)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from factory.cli import app
from factory.prm import prm_examples
from factory.step_import import import_steps

ROWS = [
    {"prompt": "Ann has 3 apples and buys 4 more. How many now?", "completions": ["3 + 4 = 7", "7 apples"],
     "labels": [1, 1]},
    {"prompt": "Bob has 9 pens and loses 2. How many now?", "completions": ["9 - 2 = 6", "6 pens"],
     "labels": [0, 0]},
    # longer than the tiny model's 512 positions: its later labels are cut, and must be counted
    {"prompt": "Sum it all.", "completions": ["1 + 1 = 2 " * 150, "2 + 2 = 4 " * 150, "4 + 4 = 8"],
     "labels": [1, 1, 1]},
]
PROCESSBENCH = [
    {"id": "a", "problem": "What is 3 + 4?", "steps": ["3 + 4 = 7", "The answer is 7"], "label": -1,
     "final_answer_correct": True},
    {"id": "b", "problem": "What is 9 - 2?", "steps": ["9 - 2 = 6", "The answer is 6"], "label": 0,
     "final_answer_correct": False},
]


def test_last_step_only_labels_the_final_step():
    (example,) = prm_examples([{"solution_id": "s", "question": "q", "steps": ["a", "b"], "labels": [0, 1]}],
                              last_step_only=True)
    assert example["labels"] == [None, 1] and example["answer"] is None


@pytest.fixture(scope="module")
def trained(tiny_model, tmp_path_factory) -> tuple[Path, dict]:
    import yaml
    from tiny_params import TINY_PARAMS

    work = tmp_path_factory.mktemp("prm")
    (work / "params.yaml").write_text(yaml.safe_dump(TINY_PARAMS))
    (work / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    import_steps(str(work / "rows.jsonl"), out=work / "steps.parquet")
    result = CliRunner().invoke(app, ["train-prm", "--data", str(work / "steps.parquet"), "--init", str(tiny_model),
                                      "--out", str(work / "prm"), "--params", str(work / "params.yaml")])
    assert result.exit_code == 0, result.output
    # the trainer prints its log lines first; the summary is the last thing printed
    return work, json.loads(result.stdout[result.stdout.index('{\n  "stage"'):])


def test_train_prm_writes_the_reward_stage_folder_and_counts_cut_labels(trained):
    work, summary = trained
    assert {"config.json", "train_curve.csv", "train_params.json"} <= {p.name for p in (work / "prm").iterdir()}
    assert json.loads((work / "prm" / "train_params.json").read_text())["max_steps"] == 2
    assert summary["solutions"] == 3 and summary["labels_cut_by_truncation"] >= 1


def test_processbench_scores_the_trained_folder_on_a_local_file(trained):
    work, _ = trained
    (work / "pb.jsonl").write_text("".join(json.dumps(row) + "\n" for row in PROCESSBENCH))
    out = work / "pb.json"
    result = CliRunner().invoke(app, ["processbench", "--model", str(work / "prm"), "--data", str(work / "pb.jsonl"),
                                      "--output", str(out), "--threshold", "0.5"])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert list(written["subsets"]) == ["pb"] and written["subsets"]["pb"]["samples"] == 2
    assert [p["id"] for p in written["predictions"]["pb"]] == ["a", "b"]
    assert all(-1 <= p["predicted"] < 2 for p in written["predictions"]["pb"])


def test_processbench_reads_one_hub_split_per_subset(trained, monkeypatch):
    work, _ = trained
    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, split))
        return datasets.Dataset.from_list(PROCESSBENCH)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    result = CliRunner().invoke(app, ["processbench", "--model", str(work / "prm"), "--split", "gsm8k,math",
                                      "--output", str(work / "hub.json")])
    assert result.exit_code == 0, result.output
    assert calls == [("Qwen/ProcessBench", "gsm8k"), ("Qwen/ProcessBench", "math")]
    assert set(json.loads((work / "hub.json").read_text())["subsets"]) == {"gsm8k", "math"}


def test_processbench_names_a_bad_row(trained):
    work, _ = trained
    (work / "bad.jsonl").write_text(json.dumps({**PROCESSBENCH[0], "label": 5}) + "\n")
    result = CliRunner().invoke(app, ["processbench", "--model", str(work / "prm"), "--data", str(work / "bad.jsonl"),
                                      "--output", str(work / "bad.json")])
    assert result.exit_code == 1 and "bad.jsonl line 1: label 5" in result.output
