"""The student-likelihood baseline: the mean log-probability of a completion's own tokens."""

from __future__ import annotations

import math

import torch

from factory.scoring import LikelihoodScorer


def test_mean_log_probability_of_the_completion_tokens_alone(tiny_model):
    scorer = LikelihoodScorer.from_pretrained(tiny_model, batch_size=2)
    prompts = ["Question: Ava has 3 bags.\nAnswer:\n", "Question: Ben has 4 bags of 7.\nAnswer:\n",
               "Question: x\nAnswer:\n"]
    completions = ["Ava has 3.\n#### 3", "Ben has 4 * 7 = <<4*7=28>>28.\n#### 28", "#### 1"]
    scores = scorer.score(prompts, completions)
    tokenizer, model = scorer.tokenizer, scorer.model
    for prompt, completion, score in zip(prompts, completions, scores):
        # by hand, one sequence at a time (no padding): sum of log P(token | everything before) / count
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        with torch.no_grad():
            log_probs = model(input_ids=torch.tensor([prompt_ids + completion_ids])).logits.log_softmax(-1)[0]
        expected = sum(float(log_probs[len(prompt_ids) + i - 1, token]) for i, token in enumerate(completion_ids))
        assert math.isclose(score, expected / len(completion_ids), rel_tol=1e-4)
    # batching (right padding) changes nothing
    assert math.isclose(scorer.score(prompts[:1], completions[:1])[0], scores[0], rel_tol=1e-5)
