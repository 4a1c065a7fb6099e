from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import datasets
import pytest

from factory import GloreError
from factory.params import TaskParams
from factory.tasks import get_task
from factory.tasks.gsm8k import evaluate, wrong_annotations

FIXTURES = Path(__file__).parent.parent / "fixtures" / "gsm8k"
LOCAL = TaskParams(name="gsm8k", path=str(FIXTURES / "{split}.jsonl"))


def fixture_records(split: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / f"{split}.jsonl").read_text().splitlines()]


def write_jsonl(path: Path, lines: list[str]) -> str:
    """Both splits of a params `path` pointing at a test file: `lines` as train, a good test."""
    path.mkdir(exist_ok=True)
    (path / "train.jsonl").write_text("\n".join(lines) + "\n")
    (path / "test.jsonl").write_text((FIXTURES / "test.jsonl").read_text())
    return str(path / "{split}.jsonl")


def test_local_files_give_both_splits_with_stable_ids():
    task = get_task("gsm8k", LOCAL)
    train, test = task.load("train"), task.load("test")
    assert train.num_rows == 7 and test.num_rows == 3
    assert train.column("question_id").to_pylist()[:2] == ["gsm8k-train-00000", "gsm8k-train-00001"]
    assert test.column("question_id").to_pylist()[-1] == "gsm8k-test-00002"
    assert set(train.column("split").to_pylist()) == {"train"}
    assert train.equals(get_task("gsm8k", LOCAL).load("train"))
    assert task.dropped_rows() == {"train": {}, "test": {}}


def test_answers_are_canonical_numbers():
    answers = get_task("gsm8k", LOCAL).load("train").column("answer").to_pylist()
    assert answers == ["138", "120000", "10", "1.33", "103", "42", "-3"]


def test_solution_is_one_step_a_line_with_annotations_and_without_the_answer_line():
    rows = get_task("gsm8k", LOCAL).load("train").to_pylist()
    assert rows[0]["solution"] == [
        "The mystery shelves hold 4 * 25 = <<4*25=100>>100 books.",
        "Altogether there are 100 + 38 = <<100+38=138>>138 books.",
    ]
    assert all(not step.startswith("####") for row in rows for step in row["solution"])
    assert [len(row["solution"]) for row in rows] == [2, 2, 2, 2, 2, 3, 1]


def test_step_results_come_from_annotations_or_the_last_number():
    task = get_task("gsm8k", LOCAL)
    solutions = {row["question_id"]: row["solution"] for row in task.load("train").to_pylist()}
    assert [task.step_result(step) for step in solutions["gsm8k-train-00001"]] == ["75000", "120000"]
    assert [task.step_result(step) for step in solutions["gsm8k-train-00005"]] == ["7", "14", "42"]
    assert [task.step_result(step) for step in solutions["gsm8k-train-00006"]] == ["-3"]


def test_every_reference_solution_reaches_its_answer():
    task = get_task("gsm8k", LOCAL)
    for row in task.load("train").to_pylist() + task.load("test").to_pylist():
        assert task.is_correct(task.step_result(row["solution"][-1]), row["answer"])


def test_hub_loading_goes_through_datasets_with_the_usual_id(monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        return datasets.Dataset.from_list(fixture_records(split))

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    task = get_task("gsm8k", TaskParams(name="gsm8k"))
    train = task.load("train")
    assert calls == [("openai/gsm8k", "main", "train")]
    assert train.equals(get_task("gsm8k", LOCAL).load("train"))

    get_task("gsm8k", TaskParams(name="gsm8k", hub_id="someone/gsm8k-copy")).load("test")
    assert calls[-1] == ("someone/gsm8k-copy", None, "test")


def test_a_wrong_hub_id_is_a_one_line_error_naming_it(monkeypatch):
    def missing(path, name=None, split=None):
        raise datasets.exceptions.DatasetNotFoundError(f"Dataset '{path}' doesn't exist on the Hub\nmore detail")

    monkeypatch.setattr(datasets, "load_dataset", missing)
    with pytest.raises(GloreError) as error:
        get_task("gsm8k", TaskParams(name="gsm8k", hub_id="nobody/none")).load("train")
    assert str(error.value) == (
        "hub dataset nobody/none split train: cannot load (Dataset 'nobody/none' doesn't exist on the Hub)"
    )


def test_a_missing_file_names_the_file(tmp_path):
    params = TaskParams(name="gsm8k", path=str(tmp_path / "{split}.jsonl"))
    with pytest.raises(GloreError, match=r"train\.jsonl: file not found"):
        get_task("gsm8k", params).load("train")


def test_an_unknown_split_is_refused():
    with pytest.raises(GloreError, match="not 'validation'"):
        get_task("gsm8k", LOCAL).load("validation")


GOOD = json.dumps({"question": "Ana has 2 + 3 apples. How many?", "answer": "2 + 3 = <<2+3=5>>5\n#### 5"})
BAD_ROWS = [
    (json.dumps({"answer": "1 + 1 = <<1+1=2>>2\n#### 2"}), "no question"),
    (json.dumps({"question": "   ", "answer": "#### 2"}), "no question"),
    (json.dumps({"question": "How many?"}), "no answer"),
    (json.dumps({"question": "How many?", "answer": "Two apples."}), "no answer"),
    (json.dumps({"question": "How many?", "answer": "One more.\n#### lots"}), "non-numeric answer"),
    ('{"question": "cut off', "not an object"),
    (json.dumps(["a", "list"]), "not an object"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_ROWS)
def test_a_bad_row_fails_by_default_naming_file_line_and_id(tmp_path, line, reason):
    path = write_jsonl(tmp_path / "data", [GOOD, "", line])
    with pytest.raises(GloreError) as error:
        get_task("gsm8k", TaskParams(name="gsm8k", path=path)).load("train")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'data' / 'train.jsonl'} line 3 (gsm8k-train-00001): {reason}")
    assert "\n" not in message


def test_drop_skips_bad_rows_counts_them_by_reason_and_keeps_ids(tmp_path):
    path = write_jsonl(tmp_path / "data", [GOOD] + [line for line, _ in BAD_ROWS] + [GOOD])
    task = get_task("gsm8k", TaskParams(name="gsm8k", path=path, bad_rows="drop"))
    train = task.load("train")
    assert train.column("question_id").to_pylist() == ["gsm8k-train-00000", "gsm8k-train-00008"]
    assert task.dropped_rows() == {"train": {"no question": 2, "no answer": 2, "non-numeric answer": 1,
                                             "not an object": 2}}


def test_drop_with_nothing_left_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "data", [line for line, _ in BAD_ROWS[:2]])
    with pytest.raises(GloreError, match=r"train\.jsonl: no usable train rows \(dropped: \{'no question': 2\}\)"):
        get_task("gsm8k", TaskParams(name="gsm8k", path=path, bad_rows="drop")).load("train")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"bad_rows": "skip"}, "bad_rows must be fail or drop"),
        ({"path": "data/gsm8k.jsonl"}, "path must contain {split}"),
        ({"path": "data/{split}.jsonl", "hub_id": "openai/gsm8k"}, "not both"),
        ({"hub_config": "main"}, "hub_config needs hub_id"),
    ],
)
def test_source_params_are_checked(raw, message):
    with pytest.raises(ValueError, match=message):
        TaskParams(name="gsm8k", **raw)


def test_prepare_cli_exits_non_zero_with_one_line_and_writes_nothing(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from factory.cli import app

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"task": {"name": "gsm8k", "path": str(tmp_path / "{split}.jsonl")}}))
    out = tmp_path / "questions.parquet"
    result = CliRunner().invoke(
        app, ["prepare", "--params", str(params), "--out", str(out), "--metrics", str(tmp_path / "m.json")]
    )
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "train.jsonl: file not found" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("48/2", Fraction(24)),
        ("0.2*50", Fraction(10)),
        ("12/60", Fraction(1, 5)),
        ("100-50-30-15", Fraction(5)),
        ("(3+4)*2", Fraction(14)),
        ("-5+2", Fraction(-3)),
        ("2**10", Fraction(1024)),
        ("1,000*2", Fraction(2000)),
        (".5*4", Fraction(2)),
        ("5%", None),
        ("3 x 4", None),
        ("1/0", None),
        ("9**9**9", None),  # bounded, so it returns at once instead of running for hours
        ("(10**100)**100", None),
        ("__import__('os')", None),
        ("", None),
    ],
)
def test_evaluate_is_exact_and_only_arithmetic(expression, value):
    assert evaluate(expression) == value


def test_wrong_annotations_allow_shown_rounding_but_not_integer_truncation():
    assert wrong_annotations("10 / 3 = <<10/3=3.33>>3.33 each") == []
    assert wrong_annotations("$<<80000+50000=130,000>>130,000") == []
    assert wrong_annotations("<<7/2=3>>3 and <<10/3=3.30>>3.30 and <<2+2=4>>4") == ["<<7/2=3>>", "<<10/3=3.30>>"]
    assert wrong_annotations("<<2x3=6>>6") == ["<<2x3=6>>"]
    assert wrong_annotations("no annotations here") == []


def test_fixture_reference_annotations_reevaluate_except_one_planted_mistake():
    task = get_task("gsm8k", LOCAL)
    rows = task.load("train").to_pylist() + task.load("test").to_pylist()
    wrong = {row["question_id"]: wrong_annotations("\n".join(row["solution"])) for row in rows}
    assert {qid: found for qid, found in wrong.items() if found} == {"gsm8k-train-00004": ["<<17*6=112>>"]}
    assert sum(not found for found in wrong.values()) / len(rows) == 0.9
