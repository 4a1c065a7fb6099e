"""Transformers backend: batched `generate` with the KV cache; the CPU default."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from factory import GloreError
from factory.generation import Completion, cut_at_answer


def load_causal_lm(path: str | Path):
    """Model and left-padding tokenizer from a saved folder, or a one-line error."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise GloreError(f"{path}: cannot load a model ({str(error).splitlines()[0]})") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


class HFGenerator:
    def __init__(self, model_path: str | Path, *, batch_size: int = 64) -> None:
        import torch

        self.model, self.tokenizer = load_causal_lm(model_path)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model.to(self.device)
        self.batch_size = batch_size
        self.context = getattr(self.model.config, "max_position_embeddings", None)

    def generate(
        self,
        prompts: Sequence[str],
        *,
        n: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
    ) -> list[list[Completion]]:
        import torch

        expanded = [prompt for prompt in prompts for _ in range(n)]
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if temperature > 0 else {
            "do_sample": False
        }
        completions: list[Completion] = []
        torch.manual_seed(seed)
        for start in range(0, len(expanded), self.batch_size):
            batch = self.tokenizer(expanded[start : start + self.batch_size], return_tensors="pt", padding=True)
            prompt_length = batch["input_ids"].shape[1]
            if self.context and prompt_length + max_new_tokens > self.context:
                raise GloreError(
                    f"prompt of {prompt_length} tokens + max_new_tokens {max_new_tokens} exceeds "
                    f"the model's context of {self.context} tokens"
                )
            with torch.no_grad():
                output = self.model.generate(
                    **batch.to(self.device),
                    max_new_tokens=max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.tokenizer.eos_token_id,
                    **sampling,
                )
            for row in output[:, prompt_length:].tolist():
                if self.tokenizer.eos_token_id in row:
                    row = row[: row.index(self.tokenizer.eos_token_id) + 1]
                text = self.tokenizer.decode(row, skip_special_tokens=True)
                completions.append(Completion(cut_at_answer(text), len(row)))
        return [completions[i * n : (i + 1) * n] for i in range(len(prompts))]
