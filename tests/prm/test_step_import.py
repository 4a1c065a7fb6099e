"""`glore import-steps`: each layout, from each kind of file and the hub, and bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from factory import GloreError
from factory.cli import app
from factory.expectations import TableInvalid
from factory.step_import import import_steps
from factory.tables import read_table, write_table

STEPWISE = [
    {"prompt": "What is 2 + 3 * 4?", "completions": ["3 * 4 = 12", "2 + 12 = 14"], "labels": [True, True]},
    {"prompt": "What is 5 - 1?", "completions": ["5 - 1 = 3", "The answer is 3"], "labels": [0.25, 0]},
]
SHEPHERD = {
    "input": "Tom has 3 apples and buys 2. How many? Step 1: 3 + 2 = 5 ки\nStep 2: The answer is 6 ки",
    "label": "Tom has 3 apples and buys 2. How many? Step 1: 3 + 2 = 5 +\nStep 2: The answer is 6 -",
}


def write_jsonl(path: Path, records: list[dict]) -> str:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    return str(path)


def test_stepwise_jsonl_keeps_soft_labels_beside_hard_ones(tmp_path):
    out = tmp_path / "mine.parquet"
    summary = import_steps(write_jsonl(tmp_path / "in.jsonl", STEPWISE), out=out, threshold=0.2)
    rows = read_table("imported_steps", out).to_pylist()
    assert [row["solution_id"] for row in rows] == ["mine-000000", "mine-000001"]
    assert rows[1]["question"] == "What is 5 - 1?" and rows[1]["steps"] == ["5 - 1 = 3", "The answer is 3"]
    assert rows[0]["soft_labels"] == [1.0, 1.0] and rows[1]["soft_labels"] == [0.25, 0.0]
    assert [row["labels"] for row in rows] == [[1, 1], [1, 0]]
    assert summary["rows"] == 2 and summary["steps"] == 4 and summary["dropped"] == {}


def test_json_and_parquet_files_read_alike(tmp_path):
    (tmp_path / "in.json").write_text(json.dumps(STEPWISE))
    pq.write_table(pa.Table.from_pylist(STEPWISE[1:]), tmp_path / "in.parquet")
    import_steps(str(tmp_path / "in.json"), out=tmp_path / "a.parquet")
    import_steps(str(tmp_path / "in.parquet"), out=tmp_path / "b.parquet")
    from_json = read_table("imported_steps", tmp_path / "a.parquet").to_pylist()
    from_parquet = read_table("imported_steps", tmp_path / "b.parquet").to_pylist()
    assert from_json[1]["steps"] == from_parquet[0]["steps"] and from_json[1]["labels"] == [0, 0]


def test_math_shepherd_layout_splits_question_and_steps_at_the_tags(tmp_path):
    out = tmp_path / "shepherd.parquet"
    import_steps(write_jsonl(tmp_path / "in.jsonl", [SHEPHERD]), out=out)
    (row,) = read_table("imported_steps", out).to_pylist()
    assert row["question"] == "Tom has 3 apples and buys 2. How many?"
    assert row["steps"] == ["Step 1: 3 + 2 = 5", "Step 2: The answer is 6"]
    assert row["soft_labels"] == [1.0, 0.0] and row["labels"] == [1, 0]


def test_hub_loading_goes_through_datasets(monkeypatch, tmp_path):
    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        return datasets.Dataset.from_list([SHEPHERD])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    import_steps("peiyi9979/Math-Shepherd", out=tmp_path / "shepherd.parquet")
    assert calls == [("peiyi9979/Math-Shepherd", None, "train")]


BAD = [
    ({"prompt": "q", "completions": ["a", "b"], "labels": [1]}, "label count != step count"),
    ({"prompt": "q", "completions": ["a", " "], "labels": [1, 1]}, "empty step"),
    ({"prompt": "q", "completions": [], "labels": []}, "no steps"),
    ({"prompt": "q", "completions": ["a"], "labels": [1.5]}, r"label outside \[0, 1\]"),
    ({"input": "q Step 1: a ки", "label": "q Step 1: a"}, "label count != step count"),
]


@pytest.mark.parametrize(("record", "reason"), BAD)
def test_a_bad_row_fails_naming_the_row(tmp_path, record, reason):
    source = write_jsonl(tmp_path / "in.jsonl", [STEPWISE[0], record])
    with pytest.raises(GloreError, match=rf"in.jsonl line 2: {reason}"):
        import_steps(source, out=tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_bad_rows_dropped_and_counted_by_reason_with_drop(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [STEPWISE[0]] + [record for record, _ in BAD])
    summary = import_steps(source, out=tmp_path / "out.parquet", bad_rows="drop")
    assert summary["rows"] == 1
    assert summary["dropped"] == {"label count != step count": 2, "empty step": 1, "no steps": 1,
                                  "label outside [0, 1]": 1}


def test_suite_rejects_a_table_whose_label_lists_do_not_match(tmp_path):
    row = {"solution_id": "x", "question": "q", "steps": ["a", "b"], "soft_labels": [1.0], "labels": [1, 1]}
    with pytest.raises(TableInvalid, match="n_soft_labels"):
        write_table("imported_steps", pa.Table.from_pylist([row]), tmp_path / "x.parquet")


def test_command_writes_the_table_and_sql_sees_it(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", STEPWISE)
    runner = CliRunner()
    result = runner.invoke(app, ["import-steps", source, "--out", str(tmp_path / "data" / "mine.parquet")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 2
    result = runner.invoke(app, ["sql", "select count(*) as n from mine", "--data", str(tmp_path / "data")])
    assert result.exit_code == 0 and "2" in result.stdout
    result = runner.invoke(app, ["import-steps", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code == 1 and "missing.jsonl: file not found" in result.output
