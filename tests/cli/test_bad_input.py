"""The bad input matrix: every entry point (params.yaml, question files, the questions table,
`glore label` inputs, `glore refine-drafts` JSONL, model folders) against every fault that applies
(missing file, empty file, wrong types, missing columns, unknown keys, duplicate ids, non-UTF-8
text, absurd values). Each case must end in one line `error: <command>: ...`, exit code 1,
nothing written anywhere in the workspace, and no traceback; `--debug` shows the traceback."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from tiny_params import TINY_PARAMS
from label_inputs import synthetic_label_inputs
from typer.testing import CliRunner

from factory.catalogue import SCHEMAS
from factory.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
Case = Callable[[Path, Path], list[str]]  # (workspace, folder for this case's bad files) -> glore argv


def params_with(**sections) -> dict:
    merged = {key: dict(value) for key, value in TINY_PARAMS.items()}
    for section, values in sections.items():
        merged[section] = {**merged.get(section, {}), **values}
    return merged


def write(path: Path, content: str | bytes | dict) -> Path:
    if isinstance(content, dict):
        content = yaml.safe_dump(content)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def out_options(ws: Path, name: str) -> list[str]:
    return ["--out", str(ws / "out" / name), "--metrics", str(ws / "out" / "metrics.json")]


# --- entry points ---------------------------------------------------------------------------

def prepare(params: str | bytes | dict | None) -> Case:
    def case(ws: Path, bad: Path) -> list[str]:
        path = bad / "params.yaml" if params is not None else bad / "missing.yaml"
        if params is not None:
            write(path, params)
        return ["prepare", "--params", str(path), *out_options(ws, "questions.parquet")]

    return case


def stage_with_params(stage: str, params: dict) -> Case:
    """A generation or SQL stage on good inputs, with bad params."""

    def case(ws: Path, bad: Path) -> list[str]:
        path = write(bad / "params.yaml", params)
        if stage == "label":
            return ["label", "--params", str(path), "--rollouts", str(ws / "rollouts.parquet"),
                    "--verifications", str(ws / "verifications.parquet"), "--out", str(ws / "out"),
                    "--metrics", str(ws / "out" / "metrics.json")]
        inputs = ["--model", str(ws / "model"), "--questions", str(ws / "questions.parquet")]
        if stage == "verify":
            inputs += ["--rollouts", str(ws / "rollouts.parquet")]
        return [stage, "--params", str(path), *inputs, *out_options(ws, f"{stage}.parquet")]

    return case


def question_file(task: str, train: str | bytes | None) -> Case:
    """`prepare` reading gsm8k / svamp files through task.path; the fault is in the train split."""
    suffix = "jsonl" if task == "gsm8k" else "json"

    def case(ws: Path, bad: Path) -> list[str]:
        shutil.copy(FIXTURES / task / f"test.{suffix}", bad / f"test.{suffix}")
        if train is not None:
            write(bad / f"train.{suffix}", train)
        params = params_with(task={"name": task, "path": str(bad / f"{{split}}.{suffix}"), "n_dev": 1})
        return ["prepare", "--params", str(write(bad / "params.yaml", params)), *out_options(ws, "questions.parquet")]

    return case


def questions_table(make: Callable[[Path], None] | None) -> Case:
    """`rollouts` reading a bad questions table."""

    def case(ws: Path, bad: Path) -> list[str]:
        path = bad / "questions.parquet"
        if make is not None:
            make(path)
        return ["rollouts", "--params", str(ws / "params.yaml"), "--model", str(ws / "model"),
                "--questions", str(path), *out_options(ws, "rollouts.parquet")]

    return case


def label_inputs(rollouts: Callable[[Path, Path], None] | None = None,
                 verifications: Callable[[Path, Path], None] | None = None) -> Case:
    """`glore label` with a bad rollouts or verifications file (made from the good one)."""

    def case(ws: Path, bad: Path) -> list[str]:
        paths = {}
        for name, make in (("rollouts", rollouts), ("verifications", verifications)):
            paths[name] = ws / f"{name}.parquet" if make is None else bad / f"{name}.parquet"
            if make is not None:
                make(ws / f"{name}.parquet", paths[name])
        return ["label", "--params", str(ws / "params.yaml"), "--rollouts", str(paths["rollouts"]),
                "--verifications", str(paths["verifications"]), "--out", str(ws / "out"),
                "--metrics", str(ws / "out" / "metrics.json")]

    return case


def refine_file(content: str | bytes | None, *options: str) -> Case:
    def case(ws: Path, bad: Path) -> list[str]:
        path = bad / "drafts.jsonl"
        if content is not None:
            write(path, content)
        models = [f"--{name}" for name in ("orm", "sorm", "global-refiner", "local-refiner")]
        return ["refine-drafts", str(path), "--output", str(ws / "out" / "refined.jsonl"),
                *[part for option in models for part in (option, str(ws / "model"))], *options]

    return case


def model_folder(make: Callable[[Path], None] | None, command: str = "rollouts") -> Case:
    """A stage (or `glore refine-drafts`) given a model folder that is missing or broken."""

    def case(ws: Path, bad: Path) -> list[str]:
        model = bad / "model"
        if make is not None:
            make(model)
        if command == "refine":
            good = write(bad / "drafts.jsonl", json.dumps({"question": "What is 2 + 2?", "draft": "#### 4"}) + "\n")
            return ["refine-drafts", str(good), "--output", str(ws / "out" / "refined.jsonl"), "--orm", str(model),
                    *[part for name in ("sorm", "global-refiner", "local-refiner")
                      for part in (f"--{name}", str(ws / "model"))]]
        if command == "sft":
            return ["sft", "--params", str(ws / "params.yaml"), "--base-model", str(model),
                    "--questions", str(ws / "questions.parquet"), *out_options(ws, "sft")]
        return ["rollouts", "--params", str(ws / "params.yaml"), "--model", str(model),
                "--questions", str(ws / "questions.parquet"), *out_options(ws, "rollouts.parquet")]

    return case


# --- how the bad files are made --------------------------------------------------------------

def parquet_from(rows: list[dict], schema: pa.Schema | None = None) -> Callable[[Path], None]:
    return lambda path: pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def question_row(i: int, **changes) -> dict:
    return {"question_id": f"q{i}", "split": "train", "question": f"What is {i} + 1?", "answer": str(i + 1),
            "solution": [f"{i} + 1 = {i + 1}"], **changes}


def rewritten(change: Callable[[pa.Table], pa.Table]) -> Callable[[Path, Path], None]:
    return lambda good, path: pq.write_table(change(pq.read_table(good)), path)


def replaced(column: str, values: Callable[[int], pa.Array]) -> Callable[[pa.Table], pa.Table]:
    return lambda table: table.set_column(table.schema.get_field_index(column), column, values(table.num_rows))


def first_set(column: str, value: object) -> Callable[[pa.Table], pa.Table]:
    """The table with `column` of its first row set to `value`."""
    def change(table: pa.Table) -> pa.Table:
        values = table.column(column).to_pylist()
        return table.set_column(table.schema.get_field_index(column), column,
                                pa.array([value, *values[1:]], table.schema.field(column).type))

    return change


def label_metrics_at(make: Callable[[Path], Path]) -> Case:
    """`glore label` on good inputs whose --metrics path cannot be written."""
    def case(ws: Path, bad: Path) -> list[str]:
        argv = label_inputs()(ws, bad)
        return [*argv[:-1], str(make(bad))]

    return case


def empty_folder(path: Path) -> None:
    path.mkdir()


def folder_with_config(config: bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.mkdir()
        (path / "config.json").write_bytes(config)

    return make


GSM8K_LINE = json.dumps({"question": "Tom has 3 bags of 4 apples. How many apples?",
                         "answer": "3 * 4 = <<3*4=12>>12\n#### 12"}) + "\n"
SVAMP_ROW = {"ID": "a-1", "Body": "Tom has 3 bags of 4 apples.", "Question": "How many apples?",
             "Equation": "( 3.0 * 4.0 )", "Answer": 12.0}

CASES: dict[str, tuple[Case, str]] = {
    # params.yaml
    "params/missing file": (prepare(None), "params file not found"),
    "params/empty file": (prepare(""), "params file is empty"),
    "params/wrong types": (prepare("task:\n  n_train: many\n"), "task.n_train: expected an integer"),
    "params/wrong types (not a mapping)": (prepare("- task\n- base\n"), "expected a mapping"),
    "params/unknown key": (prepare("task:\n  colour: red\n"), "unknown key(s) colour"),
    "params/duplicate keys": (prepare("task:\n  n_train: 5\n  n_train: 6\n"), "duplicate key 'n_train'"),
    "params/non-UTF-8": (prepare(b"task:\n  name: ar\xffth\n"), "not valid YAML"),
    "params/YAML syntax error": (prepare("task:\n  n_train: [1\n  seed: 2\n"), "not valid YAML at line 3"),
    "params/absurd: seed past 2^32": (stage_with_params("rollouts", params_with(rollouts={"sampling": {"seed": 10**30}})),
                                      "rollouts.sampling.seed: a seed must be in [0, 2^32)"),
    "params/absurd: K=0": (stage_with_params("rollouts", params_with(rollouts={"sampling": {"k": 0}})),
                           "k must be >= 1"),
    "params/absurd: negative temperature": (
        stage_with_params("verify", params_with(verify={"sampling": {"temperature": -0.5}})),
        "temperature must be >= 0"),
    "params/absurd: max tokens past the model's context": (
        stage_with_params("rollouts", params_with(rollouts={"sampling": {"max_new_tokens": 100_000}})),
        "exceeds the model's context"),
    "params/absurd: zero batch size": (stage_with_params("rollouts", params_with(generator={"batch_size": 0})),
                                       "batch_size must be >= 1"),
    "params/absurd: memory limit": (stage_with_params("label", params_with(label={"memory_limit": "lots"})),
                                    "memory_limit must be a size"),
    # question files: task.path for gsm8k and svamp
    "gsm8k/missing file": (question_file("gsm8k", None), "file not found (task.path)"),
    "gsm8k/empty file": (question_file("gsm8k", ""), "no usable train rows"),
    "gsm8k/wrong types": (question_file("gsm8k", '{"question": "How many?", "answer": 12}\n'), "line 1"),
    "gsm8k/missing columns": (question_file("gsm8k", '{"question": "How many?"}\n'), "line 1"),
    "gsm8k/non-UTF-8": (question_file("gsm8k", GSM8K_LINE.encode() + b"\xff\xfe\n"), "not UTF-8"),
    "gsm8k/absurd: non-numeric answer": (question_file("gsm8k", GSM8K_LINE.replace("#### 12", "#### lots")),
                                         "non-numeric answer"),
    "gsm8k/not JSON": (question_file("gsm8k", "question,answer\n"), "line 1"),
    "svamp/empty file": (question_file("svamp", ""), "not valid JSON"),
    "svamp/wrong types": (question_file("svamp", json.dumps([{**SVAMP_ROW, "Body": 5}])), "item 0"),
    "svamp/wrong types (not a list)": (question_file("svamp", json.dumps(SVAMP_ROW)), "expected a JSON list"),
    "svamp/missing columns": (question_file("svamp", json.dumps([{"ID": "a-1", "Body": "Tom has 3 bags."}])),
                              "item 0"),
    "svamp/duplicate ids": (question_file("svamp", json.dumps([SVAMP_ROW, SVAMP_ROW])), "duplicate id"),
    "svamp/non-UTF-8": (question_file("svamp", json.dumps([SVAMP_ROW]).encode().replace(b"Tom", b"T\xffm")),
                        "not UTF-8"),
    # the questions table a generation stage reads
    "questions table/missing file": (questions_table(None), "input not found"),
    "questions table/empty file": (questions_table(lambda path: path.write_bytes(b"")), "not a readable Parquet"),
    "questions table/no rows": (questions_table(parquet_from([], SCHEMAS["questions"])),
                                "expect_table_row_count_to_be_between"),
    "questions table/wrong types": (questions_table(parquet_from([question_row(0, solution="1 + 1 = 2")])),
                                    "wrong types"),
    "questions table/missing columns": (
        questions_table(parquet_from([{k: v for k, v in question_row(0).items() if k != "answer"}])),
        "missing column(s) answer"),
    "questions table/duplicate ids": (questions_table(parquet_from([question_row(0), question_row(0)],
                                                                   SCHEMAS["questions"])),
                                      "failing keys: question_id='q0'"),
    "questions table/non-UTF-8": (questions_table(parquet_from([question_row(0, question=b"What is \xff?")])),
                                  "wrong types"),
    "questions table/absurd: a split that does not exist": (
        questions_table(parquet_from([question_row(0, split="holdout")], SCHEMAS["questions"])),
        "failing keys: question_id='q0'"),
    # glore label inputs
    "label/missing file": (label_inputs(rollouts=lambda good, path: None), "input table not found"),
    "label/empty file": (label_inputs(verifications=lambda good, path: path.write_bytes(b"")),
                         "not a readable Parquet"),
    "label/not Parquet": (label_inputs(rollouts=lambda good, path: path.write_text("rollout_id,steps\n")),
                          "not a readable Parquet"),
    "label/wrong types": (label_inputs(rollouts=rewritten(replaced("is_correct", lambda n: pa.array(["yes"] * n)))),
                          "wrong types"),
    "label/missing columns": (label_inputs(verifications=rewritten(lambda t: t.drop_columns(["continuation"]))),
                              "missing column(s) continuation"),
    "label/duplicate ids": (label_inputs(rollouts=rewritten(lambda t: pa.concat_tables([t, t.slice(0, 2)]))),
                            "failing keys: rollout_id="),
    "label/non-UTF-8": (label_inputs(rollouts=rewritten(replaced(
        "rollout_id", lambda n: pa.array([b"q\xff/" + str(i).encode() for i in range(n)], pa.binary())))),
        "wrong types"),
    "label/verification of a rollout not in rollouts": (
        label_inputs(verifications=rewritten(first_set("rollout_id", "nobody/0"))),
        "verifications: 1 row(s) of rollouts not in the rollouts table and 0 at or past"),
    "label/verification past the rollout's last step": (
        label_inputs(verifications=rewritten(first_set("step", 50))), "and 1 at or past their rollout's last step"),
    "label/wrong types: text steps": (label_inputs(verifications=rewritten(replaced(
        "step", lambda n: pa.array(["1"] * n)))), "step is string, not int32"),
    "label/absurd: memory limit too small": (
        stage_with_params("label", params_with(label={"memory_limit": "1KB", "incomplete": "fail"})), "Out of Memory"),
    "label/metrics path is a folder": (label_metrics_at(lambda bad: bad), "a folder, not a file"),
    "label/metrics path under a file": (label_metrics_at(lambda bad: write(bad / "file", "x") / "metrics.json"),
                                        "cannot be written"),
    "label/absurd: step 0": (label_inputs(verifications=rewritten(replaced(
        "step", lambda n: pa.array([0] * n, pa.int32())))), "failing keys: (rollout_id="),
    # glore refine-drafts JSONL
    "refine/missing file": (refine_file(None), "input file not found"),
    "refine/empty file": (refine_file(""), "no drafts"),
    "refine/wrong types": (refine_file('{"question": "What is 2 + 2?", "draft": 4}\n'), "missing or empty 'draft'"),
    "refine/missing columns": (refine_file('{"draft": "#### 4"}\n'), "missing or empty 'question'"),
    "refine/not JSON": (refine_file("question\tdraft\n"), "not valid JSON"),
    "refine/non-UTF-8": (refine_file(b'{"question": "What is \xff?", "draft": "#### 4"}\n'), "not UTF-8"),
    "refine/absurd: answer": (refine_file('{"question": "Q?", "draft": "#### 4", "answer": "many"}\n'),
                              "is not a number"),
    "refine/absurd: threshold": (refine_file('{"question": "Q?", "draft": "#### 4"}\n', "--threshold", "2"),
                                 "--threshold"),
    "refine/absurd: batch size": (refine_file('{"question": "Q?", "draft": "#### 4"}\n', "--batch-size", "0"),
                                  "--batch-size"),
    # model folders
    "model/missing folder": (model_folder(None), "input not found"),
    "model/empty folder": (model_folder(empty_folder), "cannot load a model"),
    "model/non-UTF-8 config": (model_folder(folder_with_config(b"{\xff}")), "cannot load a model"),
    "model/wrong types in config": (model_folder(folder_with_config(b'{"model_type": "llama", "hidden_size": "big"}')),
                                    "cannot load a model"),
    "model/a file, not a folder": (model_folder(lambda path: path.write_text("weights")), "cannot load a model"),
    "model/refine: missing step classifier": (model_folder(None, "refine"), "input not found"),
    "model/refine: empty step classifier": (model_folder(empty_folder, "refine"), "cannot load a step classifier"),
    "model/sft: empty base model": (model_folder(empty_folder, "sft"), "model: cannot load a model"),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model) -> Path:
    """Good inputs for every entry point; each case makes its own bad one beside them."""
    ws = tmp_path_factory.mktemp("bad_input")
    write(ws / "params.yaml", params_with(label={"incomplete": "fail"}))
    result = CliRunner().invoke(app, ["prepare", "--params", str(ws / "params.yaml"),
                                      "--out", str(ws / "questions.parquet"), "--metrics", str(ws / "prepare.json")])
    assert result.exit_code == 0, result.output
    (ws / "prepare.json").unlink()
    synthetic_label_inputs(ws)
    shutil.copytree(tiny_model, ws / "model")
    return ws


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "",
                                            path.stat().st_mtime_ns) for path in sorted(folder.rglob("*"))}


def run_case(workspace: Path, tmp_path: Path, name: str, *flags: str):
    case, _ = CASES[name]
    bad = tmp_path / "bad"
    bad.mkdir()
    argv = case(workspace, bad)
    before = snapshot(workspace), snapshot(bad)
    result = CliRunner().invoke(app, [*flags, *argv])
    assert (snapshot(workspace), snapshot(bad)) == before, "the command wrote something"
    return argv[0], result


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_one_line_exit_1_and_writes_nothing(workspace, tmp_path, name):
    command, result = run_case(workspace, tmp_path, name)
    expected = CASES[name][1]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    # progress bars may come first (stderr); the error is one line, and the last
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.output.strip().splitlines()[-1] == errors[0], result.output
    assert errors[0].startswith(f"error: {command}: ") and expected in errors[0], errors[0]


@pytest.mark.parametrize("name", ["params/unknown key", "questions table/duplicate ids", "label/wrong types",
                                  "refine/not JSON", "model/empty folder"])
def test_debug_shows_the_traceback(workspace, tmp_path, name):
    _, result = run_case(workspace, tmp_path, name, "--debug")
    assert result.exit_code != 0 and result.exception is not None and not isinstance(result.exception, SystemExit)
