"""The `glore` commands through Typer's CliRunner: help, the stage chain, and bad input."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from factory.cli import app

runner = CliRunner()
STAGES = ["prepare", "base", "sft", "ei", "rollouts", "verify", "label", "reward", "refiner"]


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_help_explains_every_stage_and_option():
    top = invoke("--help")
    assert top.exit_code == 0
    for stage in [*STAGES, "sql"]:
        assert stage in top.output
    for stage in STAGES:
        result = invoke(stage, "--help")
        assert result.exit_code == 0
        # every option of every stage carries its own help text
        for option in ("--params", "--metrics"):
            assert option in result.output
        assert "[default:" in result.output


def test_the_first_stages_chain_on_a_tiny_config(tiny_params_file, tmp_path):
    data, models, metrics = tmp_path / "data", tmp_path / "models", tmp_path / "metrics"
    p = ("--params", str(tiny_params_file))
    questions = str(data / "questions.parquet")
    assert invoke("prepare", *p, "--out", questions, "--metrics", str(metrics / "prepare.json")).exit_code == 0
    assert invoke("base", *p, "--out", str(models / "base"), "--metrics", str(metrics / "base.json")).exit_code == 0
    result = invoke("sft", *p, "--base-model", str(models / "base"), "--questions", questions,
                    "--out", str(models / "sft"), "--metrics", str(metrics / "sft.json"))
    assert result.exit_code == 0, result.output
    sft = json.loads((metrics / "sft.json").read_text())
    assert 0.0 <= sft["test"]["greedy_accuracy"] <= 1.0 and sft["steps"] == 3
    assert (models / "sft" / "train_curve.csv").is_file()
    result = invoke("ei", *p, "--base-model", str(models / "base"), "--sft-model", str(models / "sft"),
                    "--questions", questions, "--out", str(models / "student"), "--metrics", str(metrics / "ei.json"))
    assert result.exit_code == 0, result.output
    ei = json.loads((metrics / "ei.json").read_text())
    assert [row["round"] for row in ei["rounds"]][0] == 0 and (models / "student" / "config.json").is_file()
    result = invoke("rollouts", *p, "--model", str(models / "student"), "--questions", questions,
                    "--out", str(data / "rollouts.parquet"), "--metrics", str(metrics / "rollouts.json"))
    assert result.exit_code == 0, result.output
    rollouts = pq.read_table(data / "rollouts.parquet")
    assert rollouts.num_rows == 6 * 2  # max_questions x k
    result = invoke("verify", *p, "--model", str(models / "student"), "--rollouts", str(data / "rollouts.parquet"),
                    "--questions", questions, "--out", str(data / "verifications.parquet"),
                    "--metrics", str(metrics / "verify.json"))
    assert result.exit_code == 0, result.output
    verify = json.loads((metrics / "verify.json").read_text())
    assert verify["generated_tokens"] > 0 or verify["incorrect_rollouts"] == 0
    result = invoke("label", *p, "--rollouts", str(data / "rollouts.parquet"),
                    "--verifications", str(data / "verifications.parquet"), "--out", str(data),
                    "--metrics", str(metrics / "label.json"))
    assert result.exit_code == 0, result.output
    assert (data / "sorm_steps.parquet").is_file() and (data / "refine_local.parquet").is_file()
    orm = pq.read_table(data / "orm_steps.parquet")
    n_steps = sum(len(steps) for steps in rollouts.column("steps").to_pylist())
    assert orm.num_rows == n_steps
    result = invoke("sql", "select count(*) as n from orm_steps", "--data", str(data))
    assert result.exit_code == 0 and str(n_steps) in result.output


def test_missing_input_is_one_line_and_writes_nothing(tiny_params_file, tmp_path):
    out = tmp_path / "rollouts.parquet"
    result = invoke("rollouts", "--params", str(tiny_params_file), "--model", str(tmp_path / "nope"),
                    "--questions", str(tmp_path / "q.parquet"), "--out", str(out),
                    "--metrics", str(tmp_path / "m.json"))
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "input not found" in result.output
    assert list(tmp_path.iterdir()) == [tiny_params_file]


@pytest.mark.parametrize("bad", ["task:\n  n_train: many\n", "task:\n  colour: red\n", "task: [\n"])
def test_malformed_params_are_one_line_and_write_nothing(tmp_path, bad):
    params = tmp_path / "params.yaml"
    params.write_text(bad)
    out = tmp_path / "questions.parquet"
    result = invoke("prepare", "--params", str(params), "--out", str(out), "--metrics", str(tmp_path / "m.json"))
    assert result.exit_code == 1
    assert result.output.startswith("error: prepare: ") and result.output.strip().count("\n") == 0
    assert sorted(tmp_path.iterdir()) == [params]


def test_debug_shows_the_traceback(tmp_path):
    result = invoke("--debug", "prepare", "--params", str(tmp_path / "missing.yaml"))
    assert result.exit_code != 0 and result.exception is not None


def test_sql_reports_bad_queries_in_one_line(tmp_path):
    result = invoke("sql", "select * from no_such_table", "--data", str(tmp_path))
    assert result.exit_code == 1 and result.output.startswith("error: sql:")
