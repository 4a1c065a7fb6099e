"""Resumable generation: a generation stage killed part-way (SIGKILL, or a crash) and rerun
writes the same table as an uninterrupted run, sampling only the units it had not finished;
changed params discard the finished units instead of mixing them in.

The student is the scripted stand-in (tests/scripted_generator.py), so every run is fast and
deterministic; tests/slow_student.py slows it down so a child process can be killed mid-stage."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from tiny_params import TINY_PARAMS
from scripted_generator import ScriptedGenerator
from typer.testing import CliRunner

import factory.generation.hf as hf
from factory.cli import app

TESTS = Path(__file__).resolve().parent
# Generator batches of 4 make many small units: rollouts 2 questions x K=2 each (10 units),
# verify 2 incorrect rollouts each, drafts 4 test questions each.
PARAMS = {
    **TINY_PARAMS,
    "task": {**TINY_PARAMS["task"], "n_train": 48, "n_test": 16, "n_dev": 4},
    "generator": {"backend": "hf", "batch_size": 4},
    "rollouts": {"max_questions": 20, "sampling": {"k": 2, "max_new_tokens": 24}},
    "verify": {"search": "exhaustive", "sampling": {"k": 2, "max_new_tokens": 24}},
    "drafts": {"max_new_tokens": 24},
}


class CountingStudent(ScriptedGenerator):
    """The scripted student, counting its calls; `fail_at` makes call number `fail_at` crash."""

    def __init__(self, questions, fail_at: int | None = None) -> None:
        super().__init__(questions)
        self.calls = 0
        self.fail_at = fail_at

    def generate(self, prompts, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the machine went away")
        return super().generate(prompts, **kwargs)


def stage_args(folder: Path, stage: str, out: Path, params: Path | None = None) -> list[str]:
    args = [stage, "--params", str(params or folder / "params.yaml"), "--out", str(out),
            "--metrics", str(out.with_suffix(".json"))]
    if stage == "rollouts" or stage == "drafts":
        return [*args, "--model", str(folder / "student"), "--questions", str(folder / "questions.parquet")]
    return [*args, "--model", str(folder / "student"), "--questions", str(folder / "questions.parquet"),
            "--rollouts", str(folder / "reference" / "rollouts.parquet")]


def run(folder: Path, stage: str, out: Path, student: CountingStudent, params: Path | None = None) -> dict:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hf, "HFGenerator", lambda path, batch_size=64, dtype="auto": student)
        result = CliRunner().invoke(app, stage_args(folder, stage, out, params))
    assert result.exit_code == 0, result.output
    return json.loads(out.with_suffix(".json").read_text())


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Questions, a stand-in model folder, and every stage's uninterrupted output in reference/."""
    folder = tmp_path_factory.mktemp("resume")
    (folder / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    result = CliRunner().invoke(app, ["prepare", "--params", str(folder / "params.yaml"),
                                      "--out", str(folder / "questions.parquet"),
                                      "--metrics", str(folder / "prepare.json")])
    assert result.exit_code == 0, result.output
    (folder / "student").mkdir()
    (folder / "student" / "config.json").write_text("{}")  # the scripted student never reads it
    for stage in ("rollouts", "verify", "drafts"):
        run(folder, stage, folder / "reference" / f"{stage}.parquet", student(folder))
    return folder


def student(folder: Path, fail_at: int | None = None) -> CountingStudent:
    return CountingStudent(pq.read_table(folder / "questions.parquet").to_pylist(), fail_at)


def manifest_units(out: Path) -> int:
    manifest = out.with_name(f"{out.name}.shards") / "manifest.jsonl"
    return max(0, len(manifest.read_text().splitlines()) - 1) if manifest.is_file() else 0


@pytest.mark.parametrize("stage", ["rollouts", "verify"])
def test_a_stage_killed_with_sigkill_resumes_to_the_uninterrupted_table(workspace, tmp_path, stage):
    out = tmp_path / f"{stage}.parquet"
    child = subprocess.Popen(
        [sys.executable, str(TESTS / "slow_student.py"), str(workspace / "questions.parquet"), "0.3",
         *stage_args(workspace, stage, out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while manifest_units(out) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    finished = manifest_units(out)
    assert child.returncode == -signal.SIGKILL and finished >= 2
    assert not out.exists()  # killed before the end: no output, only shards

    summary = run(workspace, stage, out, rerun := student(workspace))
    assert summary["resumed_units"] == finished < summary["units"]
    if stage == "rollouts":  # one generator call per unit: only the unfinished ones were sampled
        assert rerun.calls == summary["units"] - finished
    assert out.read_bytes() == (workspace / "reference" / f"{stage}.parquet").read_bytes()
    assert not out.with_name(f"{out.name}.shards").exists()


def test_drafts_resume_after_a_crash(workspace, tmp_path):
    out = tmp_path / "drafts.parquet"
    with pytest.raises(AssertionError, match="exit_code"):
        run(workspace, "drafts", out, student(workspace, fail_at=4))
    finished = manifest_units(out)
    assert not out.exists() and finished >= 1
    summary = run(workspace, "drafts", out, student(workspace))
    assert summary["resumed_units"] == finished < summary["units"]
    assert out.read_bytes() == (workspace / "reference" / "drafts.parquet").read_bytes()
    reference = json.loads((workspace / "reference" / "drafts.json").read_text())
    for key in ("drafts", "maj1", "verifier_tokens", "draft_tokens"):  # stats of resumed units are kept
        assert summary[key] == reference[key]


def test_changed_params_discard_the_finished_units(workspace, tmp_path):
    out = tmp_path / "rollouts.parquet"
    with pytest.raises(AssertionError, match="exit_code"):
        run(workspace, "rollouts", out, student(workspace, fail_at=4))
    assert manifest_units(out) == 3
    changed = tmp_path / "params.yaml"
    changed.write_text(yaml.safe_dump({**PARAMS, "rollouts": {**PARAMS["rollouts"],
                                                              "sampling": {"k": 2, "max_new_tokens": 24, "seed": 7}}}))
    summary = run(workspace, "rollouts", out, rerun := student(workspace), params=changed)
    assert summary["resumed_units"] == 0 and rerun.calls == summary["units"]
    clean = tmp_path / "clean" / "rollouts.parquet"
    run(workspace, "rollouts", clean, student(workspace), params=changed)
    assert out.read_bytes() == clean.read_bytes()
    assert out.read_bytes() != (workspace / "reference" / "rollouts.parquet").read_bytes()


def test_expert_iteration_resumes_its_round_sampling(tiny_model, tmp_path, monkeypatch):
    import factory.ei

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({**PARAMS, "ei": {"max_rounds": 1, "max_questions": 8, "eval_questions": 2,
                                                       "sampling": {"k": 2, "max_new_tokens": 24},
                                                       "train": {"max_steps": 1, "batch_size": 8}}}))
    questions = tmp_path / "questions.parquet"
    assert CliRunner().invoke(app, ["prepare", "--params", str(params), "--out", str(questions),
                                    "--metrics", str(tmp_path / "prepare.json")]).exit_code == 0
    rows = pq.read_table(questions).to_pylist()
    samples = []
    keep = factory.ei.correct_solutions
    monkeypatch.setattr(factory.ei, "correct_solutions", lambda rollouts: samples.append(rollouts) or keep(rollouts))

    def ei(generator: CountingStudent, out: Path):
        monkeypatch.setattr(hf, "HFGenerator", lambda path, batch_size=64, dtype="auto": generator)
        return CliRunner().invoke(app, ["ei", "--params", str(params), "--base-model", str(tiny_model),
                                        "--sft-model", str(tiny_model), "--questions", str(questions),
                                        "--out", str(out), "--metrics", str(tmp_path / "ei.json")])

    assert ei(CountingStudent(rows), tmp_path / "clean").exit_code == 0
    # call 1 is the greedy dev score, calls 2-5 the round's 4 units: crash in the third unit
    crashed = ei(CountingStudent(rows, fail_at=4), tmp_path / "student")
    assert crashed.exit_code != 0 and not (tmp_path / "student").exists()
    assert len(list(tmp_path.glob(".student.ei-*/round1.parquet.shards/*.parquet"))) == 2
    rerun = CountingStudent(rows)
    assert ei(rerun, tmp_path / "student").exit_code == 0
    assert rerun.calls == 1 + 2 + 1  # dev score, the 2 unfinished units, the round model's dev score
    assert samples[-1] == samples[0]  # the round trained on the same samples
    assert not list(tmp_path.glob(".student.ei-*"))  # the rounds are removed once the student is in place
