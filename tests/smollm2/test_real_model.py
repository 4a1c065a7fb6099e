"""The code paths a real pretrained chat model takes: a byte-level BPE tokenizer of 49k tokens,
its chat template, pretrained weights under a new classification head, left padding in batched
generation, EOS as pad, and the stop at end of turn. Run with `make test-smollm2`."""

from __future__ import annotations

import json
import math

import pytest

from factory.params import TrainingParams
from factory.prompts import BAD_MARKER, chat_tokenizer, prefix_prompt, refine_prompt, solution_text, student_prompt
from factory.refinery import Solution, refine_all
from factory.scoring import StepScorer
from factory.step_encoding import boundary_token_id, encode_steps
from trainers.causal_lm import tokenize_pairs
from trainers.step_classifier import tokenize_examples

pytestmark = pytest.mark.smollm2

QUESTION = "Mia has 4 boxes with 7 pens in each box. She gives away 9 pens. How many pens does Mia have now?"
STEPS = ["Mia has 4 * 7 = <<4*7=28>>28 pens.", "She has 28 - 9 = <<28-9=19>>19 pens now."]
# steps whose last characters a byte-level BPE could merge with a newline, were it tokenised with them
AWKWARD_STEPS = ["Then 3 + 4 = 7 ", "so it is 7.", "Then... 12!!", "x = <<2*6=12>>12", "ends with a tab\t"]


def test_the_gguf_file_becomes_a_plain_checkpoint_with_its_chat_template(smollm2_model, smollm2_tokenizer):
    config = json.loads((smollm2_model / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in config
    assert (smollm2_model / "model.safetensors").is_file()
    assert chat_tokenizer(smollm2_model) is not None
    assert smollm2_tokenizer.convert_tokens_to_ids(BAD_MARKER) != smollm2_tokenizer.unk_token_id
    assert student_prompt(QUESTION, smollm2_tokenizer).endswith(f"{QUESTION}<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.parametrize("steps", [STEPS, AWKWARD_STEPS], ids=["arith", "awkward"])
def test_every_step_gets_its_label_on_a_newline_token_of_its_own(smollm2_tokenizer, steps):
    tokenizer = smollm2_tokenizer
    newline = boundary_token_id(tokenizer)
    encoded = encode_steps(tokenizer, QUESTION, steps, answer="19", max_length=8192)
    assert encoded.dropped == 0 and len(encoded.positions) == len(steps)
    assert all(encoded.input_ids[position] == newline for position in encoded.positions)
    assert tokenizer.decode([newline]) == "\n"
    # the pieces tokenised apart spell exactly the prompt and the solution: nothing merged or lost
    assert tokenizer.decode(encoded.input_ids) == student_prompt(QUESTION, tokenizer) + solution_text(steps, "19") + "\n"
    rows = tokenize_examples(tokenizer, [{"question": QUESTION, "steps": steps, "labels": [1] * len(steps),
                                          "answer": "19"}], max_length=8192)
    labels = rows["rows"]["labels"][0]
    assert rows["dropped_labels"] == 0
    assert [i for i, label in enumerate(labels) if label != -100] == encoded.positions


def test_training_scoring_and_sampling_see_the_same_chat_prompt(smollm2_tokenizer):
    tokenizer = smollm2_tokenizer
    prompt = student_prompt(QUESTION, tokenizer)
    sampled = tokenizer(prompt)["input_ids"]  # as the hf generator tokenises a prompt
    trained = tokenize_pairs(tokenizer, [prompt], [solution_text(STEPS, "19")], max_length=8192)["rows"]
    encoded = encode_steps(tokenizer, QUESTION, STEPS, answer="19", max_length=8192)
    assert encoded.input_ids[: encoded.completion_start] == sampled
    assert trained["input_ids"][0][: len(sampled)] == sampled
    assert trained["labels"][0][len(sampled) - 1] == -100 and trained["labels"][0][len(sampled)] != -100
    # the completion ends at the end of turn, where the chat template closes the assistant's reply
    assert trained["input_ids"][0][-1] == tokenizer.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")


@pytest.fixture(scope="module")
def generator(smollm2_model):
    from factory.generation.hf import HFGenerator

    return HFGenerator(smollm2_model, batch_size=4)


def test_batched_generation_stops_at_end_of_turn_and_matches_one_prompt_at_a_time(generator, smollm2_tokenizer):
    tokenizer = smollm2_tokenizer
    # the first reply is short (7 tokens, then end of turn); the second runs to max_new_tokens
    prompts = [student_prompt("What is the capital of France? Answer in one word.", tokenizer),
               prefix_prompt(QUESTION, STEPS[:1], tokenizer)]
    options = {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_new_tokens": 12, "seed": 0}
    batched = [row[0] for row in generator.generate(prompts, **options)]
    alone = [generator.generate([prompt], **options)[0][0] for prompt in prompts]
    assert batched == alone  # left padding changes nothing
    short = batched[0]
    assert short.n_tokens < 12 and "Paris" in short.text
    assert not any(marker in c.text for c in batched for marker in ("<|im_end|>", "<|im_start|>"))


def test_a_two_step_draft_is_scored_and_refined(generator, smollm2_model, smollm2_tokenizer):
    from transformers import AutoModelForTokenClassification

    tokenizer = smollm2_tokenizer
    classifier = AutoModelForTokenClassification.from_pretrained(smollm2_model, num_labels=2)
    scores = StepScorer(classifier, tokenizer).score([QUESTION], [STEPS], ["19"])[0]
    assert len(scores) == 2 and all(0 < score < 1 for score in scores)
    draft = Solution(STEPS, "19")
    refined = refine_all(generator, [QUESTION], [draft], [2], max_new_tokens=24, tokenizer=tokenizer)[0]
    assert isinstance(refined, Solution) and refined.steps
    assert f"{BAD_MARKER} {STEPS[1]}" in refine_prompt(QUESTION, STEPS, 2, tokenizer=tokenizer)


def test_a_step_classifier_trains_on_the_pretrained_llama_and_scores_after_reloading(smollm2_model, tmp_path):
    from trainers.step_classifier import train_step_classifier

    examples = [{"question": QUESTION, "steps": STEPS, "labels": [1, 0], "answer": "20"},
                {"question": QUESTION, "steps": STEPS, "labels": [1, 1], "answer": "19"}]
    params = TrainingParams(max_steps=1, batch_size=2, lr=1e-5, min_lr=1e-6)
    stats = train_step_classifier(init_model=smollm2_model, train=examples, holdout=examples[:1], params=params,
                                  out=tmp_path / "orm")
    assert stats["steps"] == 1 and stats["train_labels"] == 4 and stats["dropped_labels"] == 0
    scores = StepScorer.from_pretrained(tmp_path / "orm").score([QUESTION], [STEPS], ["19"])[0]
    assert len(scores) == 2 and not any(math.isnan(score) for score in scores)


def test_the_surprisal_classifier_reads_the_real_students_surprise(smollm2_model, smollm2_tokenizer):
    import torch

    from factory.surprisal_classifier import SurprisalStepClassifier

    model = SurprisalStepClassifier.from_student(smollm2_model, num_labels=2).eval()
    encoded = encode_steps(smollm2_tokenizer, QUESTION, STEPS, answer="19", max_length=8192)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([encoded.input_ids]),
                       completion_start=torch.tensor([encoded.completion_start])).logits
    assert logits.shape == (1, len(encoded.input_ids), 2) and torch.isfinite(logits).all()
