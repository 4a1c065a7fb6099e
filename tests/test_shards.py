"""factory/shards.py on its own: the manifest, the fingerprint, and what `finish` checks."""

from __future__ import annotations

import json
from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory import GloreError
from factory.catalogue import SCHEMAS
from factory.expectations import TableInvalid
from factory.params import SamplingParams
from factory.shards import Shards, fingerprint


def rollouts(question: str, k: int = 2) -> pa.Table:
    return pa.Table.from_pylist(
        [{"rollout_id": f"{question}/{i}", "question_id": question, "sample_idx": i, "steps": ["2 + 2 = 4"],
          "step_results": ["4"], "final_answer": "4", "is_correct": i == 0, "n_tokens": 5} for i in range(k)],
        schema=SCHEMAS["rollouts"],
    )


def test_units_are_kept_across_runs_and_finish_writes_them_in_unit_order(tmp_path):
    out = tmp_path / "rollouts.parquet"
    first = Shards("rollouts", out, "same")
    first.add("000001", rollouts("b"), tokens=3)
    first.add("000000", rollouts("a"), tokens=4)
    again = Shards("rollouts", out, "same")
    assert "000000" in again and "000001" in again and again.stats() == {"rows": 4, "tokens": 7}
    assert again.finish(["000000", "000001"]) == 4
    assert pq.read_table(out).column("question_id").to_pylist() == ["a", "a", "b", "b"]
    assert not again.folder.exists()


def test_a_line_torn_by_a_kill_is_dropped_and_its_unit_runs_again(tmp_path):
    out = tmp_path / "rollouts.parquet"
    shards = Shards("rollouts", out, "same")
    shards.add("000000", rollouts("a"))
    with shards.manifest.open("a") as manifest:
        manifest.write('{"unit": "000001", "ro')  # the process died mid-append
    resumed = Shards("rollouts", out, "same")
    assert set(resumed.done) == {"000000"}
    resumed.add("000001", rollouts("b"))
    lines = [json.loads(line) for line in resumed.manifest.read_text().splitlines()]
    assert [line.get("unit") for line in lines] == [None, "000000", "000001"]


def test_another_fingerprint_discards_the_shards(tmp_path):
    out = tmp_path / "rollouts.parquet"
    Shards("rollouts", out, "old params").add("000000", rollouts("a"))
    fresh = Shards("rollouts", out, "new params")
    assert not fresh.done and not fresh.folder.exists()  # nothing is written until a unit is done


def test_the_fingerprint_follows_params_and_file_contents(tmp_path):
    table = tmp_path / "questions.parquet"
    table.write_bytes(b"one")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    sampling = SamplingParams()
    base = fingerprint(sampling=sampling, questions=table, model=model)
    assert fingerprint(sampling=sampling, questions=table, model=model) == base
    assert fingerprint(sampling=replace(sampling, temperature=0.5), questions=table, model=model) != base
    table.write_bytes(b"two")
    assert fingerprint(sampling=sampling, questions=table, model=model) != base
    table.write_bytes(b"one")
    (model / "model.safetensors").write_bytes(b"weights")  # a retrained model
    assert fingerprint(sampling=sampling, questions=table, model=model) != base


def test_finish_checks_keys_across_shards_and_keeps_them_on_failure(tmp_path):
    out = tmp_path / "rollouts.parquet"
    shards = Shards("rollouts", out, "same")
    shards.add("000000", rollouts("a"))
    shards.add("000001", rollouts("a"))  # a unit overlapping another: the same rollout ids
    with pytest.raises(TableInvalid, match=r"rollouts.parquet: table rollouts failed .*unique.*failing keys: "
                                           r"rollout_id='a/0'; rollout_id='a/1'"):
        shards.finish(["000000", "000001"])
    assert not out.exists() and shards.folder.is_dir()
    with pytest.raises(GloreError, match="1 unit.*unfinished"):
        shards.finish(["000000", "000002"])


def test_a_part_that_fails_its_suite_is_never_kept(tmp_path):
    shards = Shards("rollouts", tmp_path / "rollouts.parquet", "same")
    bad = rollouts("a").set_column(2, "sample_idx", pa.array([-1, 1], pa.int32()))
    with pytest.raises(TableInvalid, match="sample_idx.*failing keys: rollout_id='a/0'"):
        shards.add("000000", bad)
    assert "000000" not in Shards("rollouts", tmp_path / "rollouts.parquet", "same")
