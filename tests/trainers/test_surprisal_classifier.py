from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from factory.params import TrainingParams
from factory.scoring import StepScorer
from factory.step_encoding import encode_steps
from factory.surprisal_classifier import GAIN, SurprisalStepClassifier, load_step_classifier
from trainers.step_classifier import train_step_classifier

STEPS = ["Ava has 3 * 12 = <<3*12=36>>36 cookies.", "So she has 36 - 5 = <<36-5=31>>31 cookies left."]
LABELS = {"num_labels": 2}


def forward(model, encoded):
    ids = torch.tensor([encoded.input_ids])
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids),
                     completion_start=torch.tensor([encoded.completion_start])).logits[0]


def test_the_incorrect_logit_rises_by_the_largest_gated_surprisal_of_the_solution_so_far(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = SurprisalStepClassifier.from_student(tiny_model, **LABELS).eval()
    with torch.no_grad():  # gate wide open: every solution token's surprisal counts in full
        model.gate.bias.fill_(10.0)
        model.alpha.fill_(0.5 / GAIN)
    encoded = encode_steps(tokenizer, "Q?", STEPS, max_length=256)
    ids = torch.tensor([encoded.input_ids])
    student = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    with torch.no_grad():
        log_probs = student(input_ids=ids).logits[0].log_softmax(-1)
        plain = model.classifier(input_ids=ids).logits[0]
    surprisal = [0.0] + [-float(log_probs[t - 1, ids[0, t]]) for t in range(1, ids.shape[1])]
    logits = forward(model, encoded)
    for t in range(ids.shape[1]):
        evidence = max(surprisal[encoded.completion_start : t + 1], default=0.0)
        assert float(logits[t, 0]) == pytest.approx(float(plain[t, 0]) + 0.5 * evidence, abs=1e-4)
        assert float(logits[t, 1]) == pytest.approx(float(plain[t, 1]), abs=1e-5)


def test_a_step_score_sees_only_its_own_prefix(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = SurprisalStepClassifier.from_student(tiny_model, **LABELS).eval()
    with torch.no_grad():
        model.gate.bias.fill_(10.0)
    first = encode_steps(tokenizer, "Q?", STEPS, max_length=256)
    other = encode_steps(tokenizer, "Q?", [STEPS[0], "So she has 99 - 98 = <<99-98=7>>7 cookies left."], max_length=256)
    step_one = first.positions[0]
    assert torch.allclose(forward(model, first)[: step_one + 1], forward(model, other)[: step_one + 1], atol=1e-5)
    assert not torch.allclose(forward(model, first)[-1], forward(model, other)[-1])


def test_a_trained_model_saves_its_student_and_head_and_scores_the_same_after_loading(tiny_model, tmp_path):
    examples = [{"question": f"Q{n}?", "steps": STEPS, "labels": [n % 2, 0], "answer": "31"} for n in range(16)]
    out = tmp_path / "orm"
    params = TrainingParams(max_steps=20, batch_size=8, lr=3e-3, min_lr=1e-4)
    train_step_classifier(init_model=tiny_model, train=examples, holdout=examples[:4], params=params, out=out,
                          surprisal=True)
    assert (out / "surprisal_head.safetensors").is_file() and (out / "student" / "model.safetensors").is_file()
    curve = (out / "train_curve.csv").read_text().splitlines()
    assert float(curve[-1].split(",")[1]) < float(curve[1].split(",")[1])
    loaded = load_step_classifier(out)
    assert isinstance(loaded, SurprisalStepClassifier)
    # the head learned: it is no longer the zero gate it started from
    assert float(loaded.gate.weight.abs().sum()) > 0
    scorer = StepScorer.from_pretrained(out, batch_size=2)
    questions, steps = ["Q1?", "Q2?", "Q3?"], [STEPS, STEPS[:1], STEPS]
    scores = scorer.score(questions, steps, ["31", None, "30"])
    assert [len(row) for row in scores] == [2, 1, 2]
    assert all(0.0 <= value <= 1.0 for row in scores for value in row)
    # batching does not change a score (padding sits after the solution, the student is causal)
    alone = StepScorer.from_pretrained(out, batch_size=1).score(questions, steps, ["31", None, "30"])
    assert [v for row in scores for v in row] == pytest.approx([v for row in alone for v in row], abs=1e-5)


def test_the_same_surprisal_run_twice_gives_the_same_files(tiny_model, tmp_path):
    examples = [{"question": f"Q{n}?", "steps": STEPS, "labels": [n % 2, 0]} for n in range(8)]
    params = TrainingParams(max_steps=3, batch_size=4)
    for run in ("a", "b"):
        train_step_classifier(init_model=tiny_model, train=examples, holdout=examples[:2], params=params,
                              out=tmp_path / run, surprisal=True)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
