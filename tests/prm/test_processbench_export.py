"""`glore export processbench`: the test drafts in ProcessBench's format, their first-error index
checked against the arith task's exact prefix truth."""

from __future__ import annotations

import json

import pyarrow as pa
from typer.testing import CliRunner

from factory.catalogue import SCHEMAS
from factory.cli import app
from factory.params import TaskParams
from factory.report import processbench_section
from factory.tables import write_table
from factory.tasks import get_task


def test_export_gives_the_first_error_of_the_exact_truth(tmp_path):
    task = get_task("arith", TaskParams(n_train=5, n_test=3))
    questions = task.load("test")
    write_table("questions", questions, tmp_path / "questions.parquet")
    rows = questions.to_pylist()
    drafts = [
        rows[0]["solution"],  # the reference: every step valid
        [rows[1]["solution"][0].replace("=24>>24", "=25>>25"), *rows[1]["solution"][1:]],  # step 1 wrong
        [rows[2]["solution"][0], "So each friend gets 1 + 1 = <<1+1=2>>2 apples."],  # step 2 wrong
    ]
    exact = [task.prefix_validity(row["question"], row["solution"], draft) for row, draft in zip(rows, drafts)]
    assert [e.index(False) if False in e else -1 for e in exact] == [-1, 0, 1]
    table = pa.Table.from_pylist([
        {"question_id": row["question_id"], "draft": draft, "final_answer": "1", "is_correct": all(valid),
         "step_labels": [int(v) for v in valid], "exact_labels": valid, "n_tokens": 10}
        for row, draft, valid in zip(rows, drafts, exact)], schema=SCHEMAS["drafts"])
    write_table("drafts", table, tmp_path / "drafts.parquet")
    out = tmp_path / "export" / "processbench.jsonl"
    result = CliRunner().invoke(app, ["export", "processbench", "--drafts", str(tmp_path / "drafts.parquet"),
                                      "--questions", str(tmp_path / "questions.parquet"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["label"] for row in exported] == [-1, 0, 1]
    assert exported[1]["steps"] == drafts[1] and exported[1]["problem"] == rows[1]["question"]
    assert [row["final_answer_correct"] for row in exported] == [True, False, False]
    assert json.loads(result.stdout)["erroneous"] == 2


def test_report_shows_the_processbench_score_of_each_model():
    score = {"samples": 4, "erroneous": 2, "error_accuracy": 0.5, "correct_accuracy": 1.0, "f1": 0.6667,
             "step_auc": 0.75, "unscored_steps": 0}
    lines = "\n".join(processbench_section({"orm": score, "sorm": None}))
    assert "| orm | 4 (2) | 50.0% | 100.0% | 66.7% | 0.750 |" in lines and "| sorm |" not in lines
    assert processbench_section({"orm": None}) == []  # a task without exact truth: no section
