from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from factory import GloreError
from factory.params import TaskParams
from factory.tasks import get_task

FIXTURES = Path(__file__).parent.parent / "fixtures" / "svamp"
LOCAL = TaskParams(name="svamp", path=str(FIXTURES / "{split}.json"))


def write_split(folder: Path, items: object) -> str:
    """A params `path` whose train file holds `items` (as JSON) and whose test file is good."""
    folder.mkdir(exist_ok=True)
    (folder / "train.json").write_text(json.dumps(items))
    (folder / "test.json").write_text((FIXTURES / "test.json").read_text())
    return str(folder / "{split}.json")


def item(**fields: object) -> dict:
    record = {"ID": "t-1", "Body": "Sam has 4 pens.", "Question": "How many pens?", "Equation": "( 4.0 )",
              "Answer": 4.0}
    record.update(fields)
    return {key: value for key, value in record.items() if value is not ...}


def test_local_files_join_body_and_question_with_empty_solutions():
    task = get_task("svamp", LOCAL)
    train, test = task.load("train").to_pylist(), task.load("test").to_pylist()
    assert (len(train), len(test)) == (4, 2)
    assert train[1] == {
        "question_id": "svamp-train-00001",
        "split": "train",
        "question": "Each box holds 12 eggs. Ana fills 7 boxes. How many eggs does Ana pack?",
        "answer": "84",
        "solution": [],
    }
    assert test[0]["question_id"] == "svamp-test-00000"


def test_float_int_and_text_answers_become_canonical_numbers():
    task = get_task("svamp", LOCAL)
    answers = [row["answer"] for split in ("train", "test") for row in task.load(split).to_pylist()]
    assert answers == ["29", "84", "2.4", "7", "29", "15"]


def test_hub_loading_uses_the_id_in_params_and_ignores_extra_columns(monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        records = json.loads((FIXTURES / f"{split}.json").read_text())
        for record in records:  # hub copies store the answer as text and add a joined column
            record["Answer"] = str(record["Answer"])
            record["question_concat"] = f"{record['Body']} {record['Question']}"
        return datasets.Dataset.from_list(records)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    from_hub = get_task("svamp", TaskParams(name="svamp")).load("train")
    assert calls == [("ChilleD/SVAMP", None, "train")]
    assert from_hub.equals(get_task("svamp", LOCAL).load("train"))

    get_task("svamp", TaskParams(name="svamp", hub_id="me/svamp", hub_config="v2")).load("test")
    assert calls[-1] == ("me/svamp", "v2", "test")


def test_a_hub_failure_names_the_id(monkeypatch):
    def offline(path, name=None, split=None):
        raise ConnectionError(f"Couldn't reach '{path}' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(GloreError, match=r"^hub dataset typo/SVAMPP split train: cannot load \(Couldn't reach"):
        get_task("svamp", TaskParams(name="svamp", hub_id="typo/SVAMPP")).load("train")


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (item(Question=...), "no question"),
        (item(Question=""), "no question"),
        (item(Body=7), "no question"),
        (item(Answer=...), "no answer"),
        (item(Answer=" "), "no answer"),
        (item(Answer="many"), "non-numeric answer"),
        (item(Answer=True), "non-numeric answer"),
        (item(Answer=[4]), "non-numeric answer"),
        (item(ID="fx-1"), "duplicate id"),
        ("just text", "not an object"),
    ],
)
def test_a_bad_item_fails_naming_file_item_and_id(tmp_path, bad, reason):
    good = json.loads((FIXTURES / "train.json").read_text())[0]
    path = write_split(tmp_path / "data", [good, bad])
    with pytest.raises(GloreError) as error:
        get_task("svamp", TaskParams(name="svamp", path=path)).load("train")
    assert str(error.value).startswith(f"{tmp_path / 'data' / 'train.json'} item 1 (svamp-train-00001): {reason}")


def test_duplicate_ids_name_the_first_occurrence(tmp_path):
    path = write_split(tmp_path / "data", [item(ID="x"), item(ID="y"), item(ID="x")])
    with pytest.raises(GloreError, match=r"item 2 \(svamp-train-00002\): duplicate id: 'x' also at .* item 0$"):
        get_task("svamp", TaskParams(name="svamp", path=path)).load("train")


def test_drop_keeps_the_first_of_duplicates_and_counts_every_reason(tmp_path):
    items = [item(ID="a"), item(ID="a"), item(ID="b", Answer="many"), item(ID="c", Question=...), item(ID="d")]
    task = get_task("svamp", TaskParams(name="svamp", path=write_split(tmp_path / "data", items), bad_rows="drop"))
    assert task.load("train").column("question_id").to_pylist() == ["svamp-train-00000", "svamp-train-00004"]
    assert task.dropped_rows() == {"train": {"duplicate id": 1, "non-numeric answer": 1, "no question": 1}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"ID": "a",', "not valid JSON"),
        ('{"ID": "a"}', "expected a JSON list of objects, got dict"),
    ],
)
def test_a_file_that_is_not_a_json_list_fails_even_under_drop(tmp_path, text, message):
    (tmp_path / "train.json").write_text(text)
    params = TaskParams(name="svamp", path=str(tmp_path / "{split}.json"), bad_rows="drop")
    with pytest.raises(GloreError, match=message):
        get_task("svamp", params).load("train")


def test_svamp_checks_answers_like_every_task():
    task = get_task("svamp", LOCAL)
    assert task.is_correct("5 friends get 12 / 5 = <<12/5=2.4>>2.4 cookies each.\n#### 2.40", "2.4")
    assert not task.is_correct("The answer is 24.", "2.4")
