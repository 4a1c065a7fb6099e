"""No output path ever holds a partial file: a crash or a SIGKILL during a write leaves the old
output or none. And the SQL stage is reproducible to the byte."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from label_inputs import synthetic_label_inputs
from typer.testing import CliRunner

import factory.label
import factory.tables
from factory.catalogue import LABEL_TABLES, SCHEMAS
from factory.cli import app
from factory.params import LabelParams
from factory.shards import Shards
from factory.tables import write_table


def questions(n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"question_id": f"q{i}", "split": "train", "question": f"What is {i} + 1?", "answer": str(i + 1),
          "solution": []} for i in range(n)],
        schema=SCHEMAS["questions"],
    )


def half_then_crash(table, where, **kwargs):
    """pq.write_table that dies half-way: half the rows reach the file, then an error."""
    pq.ParquetWriter(where, table.schema).write_table(table.slice(0, table.num_rows // 2))
    raise OSError("No space left on device")


def test_a_crash_mid_write_keeps_the_old_table(tmp_path, monkeypatch):
    out = tmp_path / "questions.parquet"
    write_table("questions", questions(10), out)
    before = out.read_bytes()
    monkeypatch.setattr(factory.tables.pq, "write_table", half_then_crash)
    with pytest.raises(OSError, match="No space"):
        write_table("questions", questions(20), out)
    assert out.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["questions.parquet"]  # no temporary left


def test_a_crash_mid_write_of_a_first_table_leaves_none(tmp_path, monkeypatch):
    monkeypatch.setattr(factory.tables.pq, "write_table", half_then_crash)
    with pytest.raises(OSError):
        write_table("questions", questions(20), tmp_path / "questions.parquet")
    assert list(tmp_path.iterdir()) == []


def test_a_crash_while_shards_are_joined_keeps_the_old_output_and_the_shards(tmp_path, monkeypatch):
    import factory.shards

    out = tmp_path / "rollouts.parquet"
    rows = [{"rollout_id": f"q{i}/0", "question_id": f"q{i}", "sample_idx": 0, "steps": ["1 + 1 = 2"],
             "step_results": ["2"], "final_answer": "2", "is_correct": True, "n_tokens": 4} for i in range(4)]
    out.write_bytes(b"the previous output")
    shards = Shards("rollouts", out, "same")
    for i, row in enumerate(rows):
        shards.add(f"{i:06d}", pa.Table.from_pylist([row], schema=SCHEMAS["rollouts"]))

    class DiesOnSecondWrite(pq.ParquetWriter):
        writes = 0

        def write_table(self, table, *args, **kwargs):
            DiesOnSecondWrite.writes += 1
            if DiesOnSecondWrite.writes == 2:
                raise OSError("No space left on device")
            super().write_table(table, *args, **kwargs)

    monkeypatch.setattr(factory.shards, "ROW_GROUP_ROWS", 1)
    monkeypatch.setattr(factory.shards.pq, "ParquetWriter", DiesOnSecondWrite)
    units = [f"{i:06d}" for i in range(4)]
    with pytest.raises(OSError):
        shards.finish(units)
    assert out.read_bytes() == b"the previous output"
    monkeypatch.undo()
    assert Shards("rollouts", out, "same").finish(units) == 4  # the shards were all still there
    assert pq.read_table(out).to_pylist() == rows


def test_a_label_run_that_crashes_part_way_leaves_every_old_table(tmp_path, monkeypatch):
    rollouts, verifications = synthetic_label_inputs(tmp_path)
    out = tmp_path / "out"
    factory.label.label(LabelParams(), rollouts=rollouts, verifications=verifications, out_dir=out,
                        value_pairs=True)
    before = {name: (out / f"{name}.parquet").read_bytes() for name in LABEL_TABLES}
    query = factory.label.stream_sql

    def crash_at_refine_local(connection, name, parameters, rows):
        if name == "refine_local":
            raise MemoryError("out of memory")
        return query(connection, name, parameters, rows)

    monkeypatch.setattr(factory.label, "stream_sql", crash_at_refine_local)
    with pytest.raises(MemoryError):
        factory.label.label(LabelParams(seed=1), rollouts=rollouts, verifications=verifications, out_dir=out,
                            value_pairs=True)
    assert {name: (out / f"{name}.parquet").read_bytes() for name in LABEL_TABLES} == before
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.parquet" for name in LABEL_TABLES)


WRITER = textwrap.dedent("""
    import sys
    import pyarrow as pa
    import pyarrow.parquet as pq
    from factory.tables import atomic_path

    out = sys.argv[1]
    tables = [pa.table({"n": pa.array(range(start, start + 400_000))}) for start in (0, 1)]
    print("writing", flush=True)
    for i in range(10_000):
        with atomic_path(out) as temporary:
            pq.write_table(tables[i % 2], temporary)
""")


def test_sigkill_during_writes_leaves_a_whole_file(tmp_path):
    out = tmp_path / "table.parquet"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE)
    assert child.stdout.readline() == b"writing\n"
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # several writes in flight by now
    child.send_signal(signal.SIGKILL)
    child.wait()
    first = pq.read_table(out).column("n")
    assert len(first) == 400_000 and first[0].as_py() in (0, 1)  # one whole table, whichever came last


def test_glore_label_is_byte_identical_across_runs_threads_and_memory_limits(tmp_path):
    rollouts, verifications = synthetic_label_inputs(tmp_path / "inputs")
    outputs = []
    for run, (threads, memory) in enumerate([(1, "2GB"), (2, "2GB"), (2, "64MB")]):
        params = tmp_path / f"params{run}.yaml"
        params.write_text(yaml.safe_dump({"label": {"threads": threads, "memory_limit": memory, "incomplete": "fail"},
                                          "verify": {"search": "exhaustive"}}))
        out = tmp_path / f"out{run}"
        result = CliRunner().invoke(app, ["label", "--params", str(params), "--rollouts", str(rollouts),
                                          "--verifications", str(verifications), "--out", str(out),
                                          "--metrics", str(tmp_path / f"label{run}.json")])
        assert result.exit_code == 0, result.output
        outputs.append({name: (out / f"{name}.parquet").read_bytes() for name in LABEL_TABLES})
    assert outputs[0] == outputs[1] == outputs[2]
    assert all(pq.read_metadata(tmp_path / "out0" / f"{name}.parquet").num_rows > 0 for name in LABEL_TABLES)


def test_glore_label_killed_mid_run_leaves_a_staging_folder_the_next_run_removes(tmp_path):
    rollouts, verifications = synthetic_label_inputs(tmp_path / "inputs", verifications=200_000)
    out = tmp_path / "out"
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"label": {"incomplete": "fail"}}))
    command = ["label", "--params", str(params), "--rollouts", str(rollouts), "--verifications", str(verifications),
               "--out", str(out), "--metrics", str(tmp_path / "label.json")]
    child = subprocess.Popen([sys.executable, "-m", "factory.cli", *command], cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob(".label.*/*.parquet")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert [folder.name.split(".")[2] for folder in out.glob(".label.*")] == [str(child.pid)]

    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.parquet" for name in LABEL_TABLES)


def test_outputs_get_the_usual_file_mode_not_the_temporary_files_owner_only_one(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    factory.tables.write_json({"a": 1}, tmp_path / "metrics.json")
    folder = tmp_path / "staged"
    folder.mkdir(mode=0o700)
    factory.tables.replace_dir(folder, tmp_path / "model")
    assert stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o777 & ~umask
