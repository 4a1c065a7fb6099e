from __future__ import annotations

import math

from transformers import AutoTokenizer

from factory.params import TrainingParams
from factory.scoring import StepScorer
from factory.step_encoding import boundary_token_id, encode_steps
from trainers.step_classifier import IGNORE, tokenize_examples, train_step_classifier

STEPS = ["Ava has 3 * 12 = <<3*12=36>>36 cookies.", "So she has 36 - 5 = <<36-5=31>>31 cookies left."]


def test_each_label_sits_on_the_newline_that_ends_its_step(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = tokenize_examples(tokenizer, [{"question": "Q?", "steps": STEPS, "labels": [1, 0]}], max_length=256)["rows"]
    ids, labels = rows["input_ids"][0], rows["labels"][0]
    positions = [i for i, label in enumerate(labels) if label != IGNORE]
    assert [labels[i] for i in positions] == [1, 0]
    newline = boundary_token_id(tokenizer)
    assert all(ids[i] == newline and tokenizer.decode([ids[i]]) == "\n" for i in positions)
    # the text before each label ends with its step
    for position, step in zip(positions, STEPS):
        assert tokenizer.decode(ids[:position]).endswith(step)


def test_the_last_label_sits_after_the_answer_line(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    example = {"question": "Q?", "steps": STEPS, "labels": [1, 0], "answer": "31"}
    rows = tokenize_examples(tokenizer, [example], max_length=256)["rows"]
    ids, labels = rows["input_ids"][0], rows["labels"][0]
    positions = [i for i, label in enumerate(labels) if label != IGNORE]
    assert len(positions) == 2
    assert tokenizer.decode(ids[: positions[0]]).endswith(STEPS[0])
    # P_L is the whole solution: its label comes after `#### 31`, which the model sees
    assert tokenizer.decode(ids[: positions[1] + 1]).endswith(f"{STEPS[1]}\n#### 31\n")
    without = encode_steps(tokenizer, "Q?", STEPS, max_length=256)
    assert encode_steps(tokenizer, "Q?", STEPS, answer="31", max_length=256).positions[0] == without.positions[0]


def test_unlabelled_steps_get_no_label_and_truncation_counts_what_it_drops(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    example = {"question": "Q?", "steps": STEPS, "labels": [None, 1]}
    full = tokenize_examples(tokenizer, [example], max_length=256)
    assert sum(label != IGNORE for label in full["rows"]["labels"][0]) == 1 and full["dropped_labels"] == 0
    cut_at = len(encode_steps(tokenizer, "Q?", STEPS[:1], max_length=256).input_ids) + 2
    cut = tokenize_examples(tokenizer, [{"question": "Q?", "steps": STEPS, "labels": [1, 0]}], max_length=cut_at)
    assert cut["dropped_labels"] == 1
    assert sum(label != IGNORE for label in cut["rows"]["labels"][0]) == 1


def test_a_tiny_run_lowers_the_loss_and_scores_are_probabilities(tiny_model, tmp_path):
    examples = [
        {"question": f"Q{n}?", "steps": STEPS, "labels": [n % 2, 0]} for n in range(16)
    ]
    out = tmp_path / "sorm"
    params = TrainingParams(max_steps=25, batch_size=8, lr=3e-3, min_lr=1e-4)
    stats = train_step_classifier(init_model=tiny_model, train=examples, holdout=examples[:4], params=params, out=out)
    curve = (out / "train_curve.csv").read_text().splitlines()
    assert float(curve[-1].split(",")[1]) < float(curve[1].split(",")[1])
    assert stats["train_labels"] == 32 and stats["dropped_labels"] == 0
    assert 0.0 <= stats["holdout_step_accuracy"] <= 1.0
    scorer = StepScorer.from_pretrained(out, batch_size=3)
    scores = scorer.score(["Q1?", "Q2?", "Q3?", "Q4?"], [STEPS, STEPS[:1], [], STEPS])
    assert [len(row) for row in scores] == [2, 1, 0, 2]
    assert all(0.0 <= value <= 1.0 for row in scores for value in row)


def test_the_same_run_twice_gives_the_same_model_folder(tiny_model, tmp_path):
    # the second run starts with the global random state the first one left behind
    examples = [{"question": f"Q{n}?", "steps": STEPS, "labels": [n % 2, 0]} for n in range(8)]
    params = TrainingParams(max_steps=3, batch_size=4)
    for run in ("a", "b"):
        train_step_classifier(init_model=tiny_model, train=examples, holdout=examples[:2], params=params,
                              out=tmp_path / run)
    files = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert "model.safetensors" in files and files == sorted(path.name for path in (tmp_path / "b").iterdir())
    assert all((tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes() for name in files)


def test_steps_past_the_context_score_nan(tiny_model):
    from transformers import AutoModelForTokenClassification

    model = AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=2)
    scorer = StepScorer(model, AutoTokenizer.from_pretrained(tiny_model))
    scorer.max_length = len(encode_steps(scorer.tokenizer, "Q?", STEPS[:1], max_length=999).input_ids)
    first, second = scorer.score(["Q?"], [STEPS])[0]
    assert 0.0 <= first <= 1.0 and math.isnan(second)
