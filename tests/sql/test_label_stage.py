"""The label stage as a whole: every table made, validated, written all or none; `glore label`
through Typer's CliRunner; the suites rejecting bad tables by rule."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sql_inputs import rollout, verifier
from typer.testing import CliRunner

from factory import GloreError
from factory.catalogue import LABEL_TABLES, SCHEMAS
from factory.cli import app
from factory.duck import connect, run_sql
from factory.expectations import TableInvalid
from factory.label import label
from factory.params import LabelParams
from factory.validation import check_table, needed_inputs


def stage_inputs(inputs):
    return inputs(
        [rollout("q/0", ["3", "6", "99"], correct=False), rollout("q/1", ["4", "99"], correct=False),
         rollout("q/2", ["3", "12"], correct=True), rollout("q/3", ["3", "12"], correct=True),
         rollout("r/0", ["5", "99"], correct=False)],  # never verified
        [verifier("q/0", 1, 0, ["3"], correct=False), verifier("q/0", 2, 0, ["6", "12"], correct=True),
         verifier("q/1", 1, 0, ["4"], correct=False)],
    )


def test_label_writes_every_table_reproducibly(inputs, tmp_path):
    given = stage_inputs(inputs)
    summaries, contents = [], []
    for run in ("a", "b"):
        out = tmp_path / run
        summaries.append(label(LabelParams(incomplete="drop"), rollouts=given.rollouts,
                               verifications=given.verifications, out_dir=out, value_pairs=True))
        assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.parquet" for name in LABEL_TABLES)
        contents.append({name: (out / f"{name}.parquet").read_bytes() for name in LABEL_TABLES})
    assert contents[0] == contents[1]  # byte-identical reruns
    summary = summaries[0]
    assert summary["sorm_labels"]["dropped_incomplete_rollouts"] == 1
    assert summary["sorm_labels"]["rows"] == 3 + 2 + 2 + 2
    assert summary["refine_local"]["rows"] == 2 and summary["refine_value"]["rows"] == 1


def test_incomplete_verification_fails_the_stage_and_writes_nothing(inputs, tmp_path):
    given = stage_inputs(inputs)
    out = tmp_path / "out"
    with pytest.raises(GloreError, match="sorm_labels: incomplete verification: 1 rollout.*r/0"):
        label(LabelParams(incomplete="fail"), rollouts=given.rollouts, verifications=given.verifications,
              out_dir=out, value_pairs=True)
    assert not out.exists()  # not even the folder made for the outputs


def test_a_bad_input_is_reported_before_the_errors_it_causes_later(inputs, tmp_path):
    # r/0 is never verified (an incomplete verification, which fails sorm_labels), but the
    # rollouts also hold a duplicated id: the input's suite explains the run, so it wins
    given = stage_inputs(inputs)
    rollouts = pq.read_table(given.rollouts)
    pq.write_table(pa.concat_tables([rollouts, rollouts.slice(0, 1)]), given.rollouts)
    out = tmp_path / "out"
    with pytest.raises(TableInvalid, match=r"rollouts.parquet: table rollouts failed .*rollout_id.*q/0"):
        label(LabelParams(incomplete="fail"), rollouts=given.rollouts, verifications=given.verifications, out_dir=out,
              value_pairs=True)
    assert not out.exists()


def test_a_table_failing_its_suite_leaves_no_table_behind(inputs, tmp_path, monkeypatch):
    import factory.label

    given = stage_inputs(inputs)
    query = factory.label.stream_sql

    def duplicate_value_pairs(connection, name, parameters, rows):
        reader = query(connection, name, parameters, rows)
        if name != "refine_value":
            return reader
        batches = list(reader)
        return pa.RecordBatchReader.from_batches(reader.schema, batches + batches)

    monkeypatch.setattr(factory.label, "stream_sql", duplicate_value_pairs)
    out = tmp_path / "out"
    with pytest.raises(TableInvalid, match=r"refine_value .*keys \(draft_rollout_id, bad_step\) unique.*: 2 row"):
        label(LabelParams(incomplete="drop"), rollouts=given.rollouts, verifications=given.verifications,
              out_dir=out, value_pairs=True)
    assert not out.exists()  # not even the folder made for the outputs


def test_inputs_missing_a_column_fail_naming_the_file(inputs, tmp_path):
    given = stage_inputs(inputs)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pq.read_table(given.verifications).drop_columns(["continuation_numbers"]), bad)
    with pytest.raises(GloreError, match="bad.parquet: verifications: missing column.*continuation_numbers"):
        label(LabelParams(), rollouts=given.rollouts, verifications=bad, out_dir=tmp_path / "out", value_pairs=True)


def rejected(given, name: str, rows: list[dict], tmp_path) -> str:
    """The suite's message for `rows` as table `name`."""
    table = pa.Table.from_pylist(rows, schema=SCHEMAS[name])
    parameters = given.with_labels(connect())
    with pytest.raises(TableInvalid) as error:
        check_table(name, table, inputs={key: parameters[key] for key in needed_inputs(name)})
    return str(error.value)


def sorm_row(rollout_id, step, label, raw_label=None):
    return {"rollout_id": rollout_id, "step": step, "question_id": rollout_id[0], "label": label,
            "raw_label": raw_label, "n_verifiers": 0, "n_correct": 0, "n_consistent": 0}


def complete_inputs(inputs):
    return inputs(
        [rollout("q/0", ["3", "6", "99"], correct=False), rollout("q/2", ["3", "12"], correct=True)],
        [verifier("q/0", 1, 0, ["3"], correct=False), verifier("q/0", 2, 0, ["6", "12"], correct=True)],
    )


@pytest.mark.parametrize(
    ("name", "rows", "rule"),
    [
        ("sorm_labels", [sorm_row("q/0", 1, 0), sorm_row("q/0", 2, 1)], "labels non-increasing.*: 1 row"),
        ("sorm_labels", [sorm_row("q/0", 1, 0, raw_label=1)], r"label >= raw_label"),
        ("sorm_labels", [sorm_row("q/0", 1, 2)], r"labels in \{0, 1\}"),
        ("sorm_labels", [sorm_row("q/0", 1, 1), sorm_row("q/0", 3, 0)], "steps numbered 1..L"),
        ("sorm_steps", [sorm_row("q/0", 1, 1), sorm_row("q/2", 1, 1), sorm_row("q/3", 1, 0)],
         "as many positives as negatives at every step number.*: 3 row"),
    ],
)
def test_the_label_suites_reject_bad_tables_by_rule(inputs, tmp_path, name, rows, rule):
    assert re.search(rule, rejected(complete_inputs(inputs), name, rows, tmp_path))


def test_the_pair_suites_check_pairs_against_the_inputs(inputs, tmp_path):
    given = complete_inputs(inputs)
    reversed_pair = {"draft_rollout_id": "q/2", "target_rollout_id": "q/0", "question_id": "q",
                     "draft": ["q/2 step 1", "q/2 step 2"], "draft_answer": "12",
                     "target": ["q/0 step 1", "q/0 step 2", "q/0 step 3"], "target_answer": "99"}
    assert "the draft is an incorrect rollout" in rejected(given, "refine_global", [reversed_pair], tmp_path)
    local = {"draft_rollout_id": "q/0", "bad_step": 3, "question_id": "q",
             "draft": ["q/0 step 1", "q/0 step 2", "q/0 step 3"], "draft_answer": "99",
             "target": ["q/0 step 1", "another step 2", "6 + 6 = 12"], "target_answer": "12",
             "target_rollout_id": None, "verifier_idx": 0}
    assert "begins with the draft's first bad_step-1 steps" in rejected(given, "refine_local", [local], tmp_path)
    wrong_answer = {**local, "target": ["q/0 step 1", "q/0 step 2", "6 + 7 = 13"], "target_answer": "13"}
    assert "ends in an answer the inputs mark correct" in rejected(given, "refine_local", [wrong_answer], tmp_path)


def test_the_global_pair_suite_counts_repeated_keys_and_target_texts(inputs, tmp_path):
    given = complete_inputs(inputs)
    pair = {"draft_rollout_id": "q/0", "target_rollout_id": "q/2", "question_id": "q",
            "draft": ["q/0 step 1", "q/0 step 2", "q/0 step 3"], "draft_answer": "99",
            "target": ["q/2 step 1", "q/2 step 2"], "target_answer": "12"}
    assert re.search(r"keys \(draft_rollout_id, target_rollout_id\) unique.*: 2 row.*"
                     r"failing keys: \(draft_rollout_id='q/0', target_rollout_id='q/2'\)$",
                     rejected(given, "refine_global", [pair, pair], tmp_path))
    # another target of the same text: the draft would be paired twice with it
    same_text = {**pair, "target_rollout_id": "q/3"}
    assert re.search(r"distinct target texts per draft.*: 2 row.*target_rollout_id='q/2'\); .*target_rollout_id='q/3'",
                     rejected(given, "refine_global", [pair, same_text], tmp_path))


def test_glore_label_runs_on_any_two_parquet_files(inputs, tmp_path):
    given = stage_inputs(inputs)
    runner = CliRunner()
    params = tmp_path / "params.yaml"
    out, metrics = tmp_path / "out", tmp_path / "label.json"
    args = ["label", "--params", str(params), "--rollouts", str(given.rollouts),
            "--verifications", str(given.verifications), "--out", str(out), "--metrics", str(metrics)]

    params.write_text(yaml.safe_dump({"label": {"incomplete": "fail"}}))
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and not out.exists()
    # one line of error after the progress bar
    assert result.output.splitlines()[-1].startswith("error: label: sorm_labels: incomplete verification")
    assert sum("error" in line for line in result.output.splitlines()) == 1

    params.write_text(yaml.safe_dump({"label": {"incomplete": "drop"}, "verify": {"search": "backward"}}))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(metrics.read_text())
    assert summary["stage"] == "label" and summary["refine_value"]["rows"] == 0  # backward: no values
    assert pq.read_table(out / "sorm_steps.parquet").schema == SCHEMAS["sorm_steps"]
    result = runner.invoke(app, ["sql", "select count(*) as pairs from refine_local", "--data", str(out)])
    assert result.exit_code == 0 and "2" in result.output
