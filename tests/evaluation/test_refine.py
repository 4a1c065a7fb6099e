"""`glore refine-drafts` on tiny saved models, and its input checks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from factory import GloreError
from factory.cli import app
from factory.refinery import read_drafts

DRAFT = "Ava has 3 * 12 = <<3*12=36>>36 cookies.\nSo she has 36 - 5 = <<36-5=30>>30 cookies left.\n#### 30"
QUESTION = "Ava bakes 3 trays with 12 cookies on each. She eats 5. How many are left?"


@pytest.fixture(scope="module")
def tiny_models(tiny_model, tmp_path_factory):
    """Untrained step classifiers next to the tiny causal LM acting as both refiners."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("refine_models")
    for name in ("orm", "sorm"):
        AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=2).save_pretrained(folder / name)
        AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder / name)
    return {"orm": folder / "orm", "sorm": folder / "sorm", "global": tiny_model, "local": tiny_model}


def model_options(models) -> list[str]:
    return ["--orm", str(models["orm"]), "--sorm", str(models["sorm"]), "--global-refiner", str(models["global"]),
            "--local-refiner", str(models["local"]), "--max-new-tokens", "16"]


def test_refine_writes_one_explained_record_per_draft(tiny_models, tmp_path):
    source = tmp_path / "drafts.jsonl"
    source.write_text("\n".join(json.dumps({"question": QUESTION, "draft": DRAFT, **extra})
                                for extra in ({"answer": "31"}, {})) + "\n")
    out = tmp_path / "refined.jsonl"
    result = CliRunner().invoke(app, ["refine-drafts", str(source), "--output", str(out), *model_options(tiny_models)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2
    first = records[0]
    assert len(first["sorm_step_scores"]) == 2 and all(0 <= s <= 1 for s in first["sorm_step_scores"])
    assert first["chosen"] in ("draft", "global", "local") and "ORM scores" in first["why"]
    assert set(first["refinements"]) == {"draft", "global", "local"}
    assert first["refinements"]["draft"]["answer"] == "30" and first["correct"]["draft"] is False
    assert "correct" not in records[1]


def test_a_malformed_line_is_named_and_nothing_is_written(tiny_models, tmp_path):
    source = tmp_path / "drafts.jsonl"
    source.write_text(json.dumps({"question": QUESTION, "draft": DRAFT}) + "\n{not json\n")
    out = tmp_path / "refined.jsonl"
    result = CliRunner().invoke(app, ["refine-drafts", str(source), "--output", str(out), *model_options(tiny_models)])
    assert result.exit_code == 1
    assert "line 2" in result.output and result.output.strip().count("\n") == 0
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "q"}\n', "line 1: missing or empty 'draft'"),
        ('[1, 2]\n', "line 1: expected an object"),
        ('{"question": "q", "draft": "d", "answer": "many"}\n', "is not a number"),
        ("\n\n", "no drafts"),
    ],
)
def test_read_drafts_rejects_bad_lines(tmp_path, content, message):
    path = tmp_path / "drafts.jsonl"
    path.write_text(content)
    with pytest.raises(GloreError, match=message):
        read_drafts(path)


def test_read_drafts_rejects_non_utf8_and_missing_files(tmp_path):
    path = tmp_path / "drafts.jsonl"
    path.write_bytes(b'{"question": "\xff"}\n')
    with pytest.raises(GloreError, match="UTF-8"):
        read_drafts(path)
    with pytest.raises(GloreError, match="not found"):
        read_drafts(tmp_path / "missing.jsonl")
