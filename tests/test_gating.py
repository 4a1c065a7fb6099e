"""Gating: no stage consumes a table that fails its suite, and `glore validate` runs a suite on
demand. Failures name the table, the expectation and a few failing rows by their keys."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from label_inputs import synthetic_label_inputs
from typer.testing import CliRunner

from factory.catalogue import SCHEMAS
from factory.cli import app
from factory.label import label
from factory.params import LabelParams


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Synthetic rollouts and verifications, and every label table made from them."""
    folder = tmp_path_factory.mktemp("gating")
    rollouts, verifications = synthetic_label_inputs(folder)
    label(LabelParams(), rollouts=rollouts, verifications=verifications, out_dir=folder, value_pairs=True)
    return folder


def inputs_of(tables) -> list[str]:
    """The label stage's inputs, named explicitly: the defaults under data/ are not the test's."""
    return ["--rollouts", str(tables / "rollouts.parquet"), "--verifications", str(tables / "verifications.parquet")]


def glore(*args: str):
    return CliRunner().invoke(app, list(args))


def one_error(result) -> str:
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    return errors[0]


@pytest.mark.parametrize("table", ["rollouts", "verifications", "sorm_labels", "sorm_steps", "orm_steps",
                                   "orm_balanced_steps", "refine_global", "refine_local", "refine_value"])
def test_glore_validate_passes_good_tables(tables, table):
    result = glore("validate", table, "--path", str(tables / f"{table}.parquet"), "--rollouts",
                   str(tables / "rollouts.parquet"), "--verifications", str(tables / "verifications.parquet"))
    assert result.exit_code == 0, result.output
    assert '"valid": true' in result.output


def test_glore_validate_names_the_table_the_rule_and_the_failing_keys(tables, tmp_path):
    rows = pq.read_table(tables / "sorm_labels.parquet").to_pylist()
    # a positive step 2 after a negative step 1 breaks back-propagation, and only that rule
    broken = next(i for i, row in enumerate(rows[1:], start=1)
                  if row["step"] == 2 and row["label"] == 1 and rows[i - 1]["rollout_id"] == row["rollout_id"]) - 1
    rows[broken] = {**rows[broken], "label": 0, "raw_label": 0}
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS["sorm_labels"]), tmp_path / "sorm_labels.parquet")
    error = one_error(glore("validate", "sorm_labels", "--path", str(tmp_path / "sorm_labels.parquet"),
                            *inputs_of(tables)))
    assert error.startswith("error: validate: ") and "table sorm_labels failed" in error
    assert "labels non-increasing along a rollout's steps" in error and ": 1 row(s)" in error
    assert f"failing keys: (rollout_id={rows[broken]['rollout_id']!r}, step=1)" in error


def test_pairs_are_checked_against_the_rollouts_they_came_from(tables, tmp_path):
    pairs = pq.read_table(tables / "refine_global.parquet")
    # swap draft and target: the draft is now a correct rollout
    swapped = pairs.set_column(0, "draft_rollout_id", pairs["target_rollout_id"]).set_column(
        1, "target_rollout_id", pairs["draft_rollout_id"])
    pq.write_table(swapped.slice(0, 2), tmp_path / "refine_global.parquet")
    error = one_error(glore("validate", "refine_global", "--path", str(tmp_path / "refine_global.parquet"),
                            *inputs_of(tables)))
    assert "the draft is an incorrect rollout" in error
    row = swapped.slice(0, 1).to_pylist()[0]
    assert f"(draft_rollout_id={row['draft_rollout_id']!r}, target_rollout_id={row['target_rollout_id']!r})" in error
    missing = one_error(glore("validate", "refine_global", "--path", str(tables / "refine_global.parquet"),
                              "--rollouts", str(tmp_path / "nowhere.parquet"),
                              "--verifications", str(tables / "verifications.parquet")))
    assert "nowhere.parquet: input table not found" in missing


def duplicated_rollouts(tables, tmp_path):
    rollouts = pq.read_table(tables / "rollouts.parquet")
    bad = tmp_path / "rollouts.parquet"
    pq.write_table(pa.concat_tables([rollouts, rollouts.slice(3, 1)]), bad)
    return bad, rollouts["rollout_id"][3].as_py()


def test_the_label_stage_refuses_inputs_that_fail_their_suite(tables, tmp_path):
    bad, duplicate = duplicated_rollouts(tables, tmp_path)
    out = tmp_path / "out"
    error = one_error(glore("label", "--rollouts", str(bad), "--verifications", str(tables / "verifications.parquet"),
                            "--out", str(out), "--metrics", str(tmp_path / "label.json")))
    assert "table rollouts failed expect_column_values_to_be_unique on rollout_id" in error
    assert f"failing keys: rollout_id={duplicate!r}" in error
    assert not out.exists() and not (tmp_path / "label.json").exists()


def test_verify_refuses_rollouts_that_fail_their_suite(tables, tmp_path, tiny_params_file):
    bad, duplicate = duplicated_rollouts(tables, tmp_path)
    model = tmp_path / "model"
    model.mkdir()
    out = tmp_path / "verifications.parquet"
    error = one_error(glore("verify", "--params", str(tiny_params_file), "--model", str(model), "--rollouts", str(bad),
                            "--questions", str(bad), "--out", str(out), "--metrics", str(tmp_path / "verify.json")))
    assert f"rollout_id={duplicate!r}" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model", "params.yaml", "rollouts.parquet"]


def test_training_refuses_a_step_table_that_fails_its_suite(tables, tmp_path, tiny_params_file):
    steps = pq.read_table(tables / "orm_balanced_steps.parquet")
    relabelled = steps.set_column(3, "label", pc.subtract(pa.scalar(1, pa.int8()), steps["label"]))
    pq.write_table(relabelled, tmp_path / "orm_balanced_steps.parquet")
    (tmp_path / "q.parquet").write_bytes(b"")  # never read: the step table fails first
    error = one_error(glore("reward", "orm_balanced", "--params", str(tiny_params_file),
                            "--steps", str(tmp_path / "orm_balanced_steps.parquet"),
                            "--rollouts", str(tables / "rollouts.parquet"), "--questions", str(tmp_path / "q.parquet"),
                            "--out", str(tmp_path / "model"), "--metrics", str(tmp_path / "reward.json")))
    assert "every step labelled with its rollout's correctness" in error
    assert not (tmp_path / "model").exists() and not (tmp_path / "reward.json").exists()
