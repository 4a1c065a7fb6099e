"""Step scores from an ORM or SORM: the one scoring function every later stage uses."""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from pathlib import Path

from factory import from_pretrained
from factory.step_encoding import encode_steps


class StepScorer:
    """P(step is correct) for every step of a solution, from a saved step classifier."""

    def __init__(self, model, tokenizer, *, batch_size: int = 32) -> None:
        self.model, self.tokenizer = model.eval(), tokenizer
        self.device = model.device
        self.batch_size = batch_size
        self.max_length = getattr(model.config, "max_position_embeddings", 2048)
        # a model that reads the student's surprisal needs to know where the solution starts
        self.takes_completion_start = "completion_start" in inspect.signature(model.forward).parameters

    @classmethod
    def from_pretrained(cls, model_path: str | Path, *, batch_size: int = 32) -> StepScorer:
        import torch
        from transformers import AutoTokenizer

        from factory.surprisal_classifier import load_step_classifier

        tokenizer = from_pretrained(AutoTokenizer, model_path, what="a step classifier")
        model = load_step_classifier(model_path)
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        return cls(model, tokenizer, batch_size=batch_size)

    def score(self, questions: Sequence[str], step_lists: Sequence[Sequence[str]],
              answers: Sequence[str | None] | None = None) -> list[list[float]]:
        """One probability per step, in order; NaN for steps past the model's context. With
        `answers`, the last step is scored with its answer line after it."""
        import torch

        answers = answers if answers is not None else [None] * len(step_lists)
        encoded = [
            encode_steps(self.tokenizer, question, steps, answer=answer, max_length=self.max_length)
            for question, steps, answer in zip(questions, step_lists, answers)
        ]
        scores: list[list[float]] = []
        pad = self.tokenizer.pad_token_id or 0
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start : start + self.batch_size]
            width = max(len(item.input_ids) for item in batch)
            input_ids = torch.tensor([item.input_ids + [pad] * (width - len(item.input_ids)) for item in batch])
            mask = torch.tensor([[1] * len(item.input_ids) + [0] * (width - len(item.input_ids)) for item in batch])
            extra = {}
            if self.takes_completion_start:
                extra["completion_start"] = torch.tensor([item.completion_start for item in batch], device=self.device)
            with torch.no_grad():
                logits = self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                                    **extra).logits
            probabilities = logits.float().softmax(-1)[..., 1].cpu()
            for row, item in enumerate(batch):
                kept = [float(probabilities[row, position]) for position in item.positions]
                scores.append(kept + [math.nan] * item.dropped)
        return scores

    def step_accuracy(self, examples: Sequence[dict]) -> float | None:
        """Share of labelled steps (label not None) where `score >= 0.5` agrees with the label."""
        scores = self.score([e["question"] for e in examples], [e["steps"] for e in examples],
                            [e.get("answer") for e in examples])
        pairs = [
            (score >= 0.5, bool(label))
            for example, row in zip(examples, scores)
            for score, label in zip(row, example["labels"])
            if label is not None and not math.isnan(score)
        ]
        return round(sum(p == l for p, l in pairs) / len(pairs), 4) if pairs else None


class LikelihoodScorer:
    """The student's own judgement of a solution: the mean log-probability of its tokens. The
    baseline a reward model must beat to be worth training (a sampled slip is often an unlikely
    token)."""

    def __init__(self, model, tokenizer, *, batch_size: int = 32) -> None:
        self.model, self.tokenizer = model.eval(), tokenizer
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, model_path: str | Path, *, batch_size: int = 32) -> LikelihoodScorer:
        import torch

        from factory.generation.hf import load_causal_lm

        model, tokenizer = load_causal_lm(model_path)
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        return cls(model, tokenizer, batch_size=batch_size)

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        """Mean log-probability per completion token (its end-of-sequence token included)."""
        import torch

        prompt_ids = self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
        completion_ids = [ids + [self.tokenizer.eos_token_id]
                          for ids in self.tokenizer(list(completions), add_special_tokens=False)["input_ids"]]
        pad = self.tokenizer.pad_token_id or 0
        scores: list[float] = []
        for start in range(0, len(prompt_ids), self.batch_size):
            rows = [p + c for p, c in zip(prompt_ids[start : start + self.batch_size],
                                          completion_ids[start : start + self.batch_size])]
            width = max(len(row) for row in rows)
            input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
            mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
            with torch.no_grad():
                log_probs = self.model(input_ids=input_ids.to(self.model.device),
                                       attention_mask=mask.to(self.model.device)).logits.float().log_softmax(-1).cpu()
            for row, (prompt, completion) in enumerate(zip(prompt_ids[start : start + self.batch_size],
                                                           completion_ids[start : start + self.batch_size])):
                # the token at position t is predicted at position t - 1
                positions = torch.arange(len(prompt) - 1, len(prompt) + len(completion) - 1)
                scores.append(float(log_probs[row, positions, torch.tensor(completion)].mean()))
        return scores
