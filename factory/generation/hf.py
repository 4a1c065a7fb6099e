"""Transformers backend: batched `generate` with the KV cache; the CPU default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from factory import from_pretrained
from factory.generation.protocol import Completion, context_error, cut_at_answer, cut_at_stop


def load_causal_lm(path: str | Path, **options):
    """Model and left-padding tokenizer from a saved folder, or a one-line error; `options` go
    to the model's from_pretrained (`dtype`)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = from_pretrained(AutoTokenizer, path, padding_side="left")
    model = from_pretrained(AutoModelForCausalLM, path, **options)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


class HFGenerator:
    def __init__(self, model_path: str | Path, *, batch_size: int = 64, dtype: str = "auto") -> None:
        import torch

        # auto: as transformers loads the checkpoint (a scratch model: float32)
        self.model, self.tokenizer = load_causal_lm(model_path, **({} if dtype == "auto" else {"dtype": dtype}))
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(self.device)
        self.dtype = str(self.model.dtype).removeprefix("torch.")
        self.batch_size = batch_size
        self.context = getattr(self.model.config, "max_position_embeddings", None)

    def close(self) -> None:
        """Drop the model; Engine.close then hands its memory back to the device."""
        self.model = None

    def generate(self, prompts: Sequence[str], *, n: int, temperature: float, top_p: float, max_new_tokens: int,
                 seed: int, stop: Sequence[str] = ()) -> list[list[Completion]]:
        import torch

        self._check_context(prompts, max_new_tokens)
        expanded = [prompt for prompt in prompts for _ in range(n)]
        sampling: dict = {"do_sample": False}
        if temperature > 0:
            # top_k=0: transformers would otherwise add its default top-k of 50, which vLLM does not.
            sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
        if stop:
            sampling.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        completions: list[Completion] = []
        torch.manual_seed(seed)
        for start in range(0, len(expanded), self.batch_size):
            batch = self.tokenizer(expanded[start : start + self.batch_size], return_tensors="pt", padding=True)
            prompt_length = batch["input_ids"].shape[1]
            with torch.no_grad():
                output = self.model.generate(
                    **batch.to(self.device),
                    max_new_tokens=max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.tokenizer.eos_token_id,
                    **sampling,
                )
            for row in output[:, prompt_length:].tolist():
                row = self._generated(row)
                text = self.tokenizer.decode(row, skip_special_tokens=True)
                completions.append(Completion(cut_at_answer(cut_at_stop(text, stop)), len(row)))
        return [completions[i * n : (i + 1) * n] for i in range(len(prompts))]

    def _check_context(self, prompts: Sequence[str], max_new_tokens: int) -> None:
        """Fail before the first batch, so a stage never spends compute on a run it cannot finish."""
        if not self.context or not prompts:
            return
        longest = max(len(ids) for ids in self.tokenizer(list(prompts))["input_ids"])
        if longest + max_new_tokens > self.context:
            raise context_error(longest, max_new_tokens, self.context)

    def _generated(self, row: list[int]) -> list[int]:
        """The tokens a sample really generated: hf pads a row once EOS or a stop string ends it.
        (Where pad is also EOS, as in some pretrained models, the final EOS is not counted.)"""
        end = len(row)
        while end and row[end - 1] == self.tokenizer.pad_token_id:
            end -= 1
        return row[:end]
