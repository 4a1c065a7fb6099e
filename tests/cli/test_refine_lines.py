"""`glore refine-drafts` line by line: a draft too long for a refiner gets `"error"` in its row while the
others are refined; an output over the input and model folders of the wrong kind are refused in
one line before any model loads, with nothing written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factory.cli import app
from factory.generation import Completion, context_error
from factory.refinery import Solution, _refine_each

QUESTION = "Ava bakes 3 trays with 12 cookies on each. She eats 5. How many are left?"
DRAFT = "Ava has 3 * 12 = <<3*12=36>>36 cookies.\nSo she has 36 - 5 = <<36-5=30>>30 cookies left.\n#### 30"
# far past the tiny model's context once it is the refiners' prompt
LONG_DRAFT = "\n".join(f"Then {i} + 1 = <<{i}+1={i + 1}>>{i + 1} cookies." for i in range(200)) + "\n#### 201"


@pytest.fixture(scope="module")
def models(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """Untrained step classifiers (2 labels, and a wrong one with 3) beside the tiny causal LM."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("refine_lines_models")
    for name, labels in (("classifier", 2), ("three_labels", 3)):
        AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=labels).save_pretrained(folder / name)
        AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder / name)
    return {"classifier": folder / "classifier", "three_labels": folder / "three_labels", "causal_lm": tiny_model}


def options(models, **kinds: str) -> list[str]:
    chosen = {"orm": "classifier", "sorm": "classifier", "global-refiner": "causal_lm", "local-refiner": "causal_lm",
              **{name.replace("_", "-"): kind for name, kind in kinds.items()}}
    return [*(part for name, kind in chosen.items() for part in (f"--{name}", str(models[kind]))),
            "--max-new-tokens", "16"]


def drafts_file(path: Path, *drafts: str) -> Path:
    path.write_text("".join(json.dumps({"question": QUESTION, "draft": draft}) + "\n" for draft in drafts))
    return path


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refine(*args: str):
    return CliRunner().invoke(app, ["refine-drafts", *args])


def assert_one_line_error(result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.output.strip().splitlines()[-1] == errors[0], result.output
    assert errors[0].startswith("error: refine-drafts: ") and expected in errors[0], errors[0]


def test_a_draft_too_long_gets_an_error_in_its_row_and_the_others_are_refined(models, tmp_path):
    source = drafts_file(tmp_path / "drafts.jsonl", DRAFT, LONG_DRAFT, DRAFT)
    out = tmp_path / "refined.jsonl"
    result = refine(str(source), "--output", str(out), "--batch-size", "2", *options(models))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [("error" in row, "chosen" in row) for row in rows] == [(False, True), (True, False), (False, True)]
    error = rows[1]["error"]
    assert error.startswith("global refiner: ") and "exceeds the model's context" in error and "\n" not in error
    assert rows[1]["draft"] == LONG_DRAFT
    assert "refine-drafts: 2 of 3 drafts refined; not line(s) 2:" in result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert (summary["refined"], summary["errors"], summary["error_lines"]) == (2, 1, [2])


def test_when_no_draft_fits_it_is_one_line_and_nothing_is_written(models, tmp_path):
    source = drafts_file(tmp_path / "drafts.jsonl", LONG_DRAFT, LONG_DRAFT)
    before = hashes(tmp_path)
    result = refine(str(source), "--output", str(tmp_path / "refined.jsonl"), *options(models))
    assert_one_line_error(result, "no draft could be refined (line 1: global refiner: prompt of")
    assert hashes(tmp_path) == before


@pytest.mark.parametrize("spelling", ["same", "another path to it"])
def test_output_over_the_input_is_refused(models, tmp_path, spelling):
    source = drafts_file(tmp_path / "drafts.jsonl", DRAFT)
    (tmp_path / "sub").mkdir()
    output = source if spelling == "same" else tmp_path / "sub" / ".." / "drafts.jsonl"
    before = hashes(tmp_path)
    assert_one_line_error(refine(str(source), "--output", str(output), *options(models)), "is the input file")
    assert hashes(tmp_path) == before


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ({"orm": "causal_lm"}, "--orm {causal_lm}: not a step classifier (its config names LlamaForCausalLM)"),
        ({"sorm": "causal_lm"}, "--sorm {causal_lm}: not a step classifier"),
        ({"orm": "three_labels"}, "a step classifier has a head for 2 labels, this one for 3"),
        ({"global_refiner": "classifier"},
         "--global-refiner {classifier}: not a causal LM (its config names LlamaForTokenClassification)"),
        ({"local_refiner": "classifier"}, "--local-refiner {classifier}: not a causal LM"),
    ],
)
def test_a_model_of_the_wrong_kind_is_refused_before_loading(models, tmp_path, monkeypatch, kinds, expected):
    import factory.scoring

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(factory.scoring.StepScorer, "from_pretrained", no_loading)
    source = drafts_file(tmp_path / "drafts.jsonl", DRAFT)
    before = hashes(tmp_path)
    result = refine(str(source), "--output", str(tmp_path / "refined.jsonl"), *options(models, **kinds))
    assert_one_line_error(result, expected.format(**{kind: models[kind] for kind in models}))
    assert hashes(tmp_path) == before


@pytest.mark.parametrize(("content", "expected"), [
    (json.dumps({"question": QUESTION, "draft": DRAFT}) + "\n{not json\n", "line 2: not valid JSON"),
    (json.dumps({"question": QUESTION, "draft": DRAFT}) + "\n\n" + json.dumps({"question": QUESTION}) + "\n",
     "line 3: missing or empty 'draft'"),
])
def test_malformed_input_fails_first_naming_the_line(models, tmp_path, content, expected):
    """Even with models of the wrong kind: the file is checked before any model is looked at."""
    source = tmp_path / "drafts.jsonl"
    source.write_text(content)
    before = hashes(tmp_path)
    result = refine(str(source), "--output", str(tmp_path / "refined.jsonl"), *options(models, orm="causal_lm"))
    assert_one_line_error(result, expected)
    assert hashes(tmp_path) == before


class ShortContext:
    """A generator whose context takes prompts of at most `limit` characters; it counts its calls."""

    def __init__(self, limit: int) -> None:
        self.limit, self.calls = limit, []

    def generate(self, prompts, *, n, temperature, top_p, max_new_tokens, seed, stop=()):
        self.calls.append(len(prompts))
        longest = max(len(prompt) for prompt in prompts)
        if longest > self.limit:
            raise context_error(longest, max_new_tokens, self.limit)
        return [[Completion("1 + 1 = 2\n#### 2", 5)] for _ in prompts]


def test_only_the_drafts_that_do_not_fit_fail_and_the_rest_stay_batched():
    drafts = [Solution.parse(DRAFT)] * 8
    drafts[5] = Solution.parse(LONG_DRAFT)
    generator = ShortContext(limit=2000)
    refined = _refine_each(generator, [QUESTION] * 8, drafts, None, max_new_tokens=16, tokenizer=None,
                           name="global refiner")
    assert [isinstance(r, str) for r in refined] == [i == 5 for i in range(8)]
    assert refined[5].startswith("global refiner: prompt of") and refined[0].answer == "2"
    assert generator.calls == [8, 4, 4, 2, 1, 1, 2]  # only the halves holding draft 6 are split again

