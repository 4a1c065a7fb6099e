"""Causal-LM supervised fine-tuning with the loss on completion tokens only.

Used for the student (SFT, expert iteration) and for the refiners. Runs under
`accelerate launch` unchanged, since all distribution is left to transformers' Trainer.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from factory import from_pretrained
from factory.params import TrainingParams
from trainers.common import save_trained, training_arguments

IGNORE = -100


def tokenize_pairs(tokenizer, prompts: Sequence[str], completions: Sequence[str], *, max_length: int) -> dict:
    """input_ids and labels where prompt tokens are IGNOREd, so the loss is on the completion.

    Prompt and completion are tokenised apart so the boundary is exact; pairs longer than
    `max_length` are dropped (and counted) rather than silently cut."""
    prompt_ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(list(completions), add_special_tokens=False)["input_ids"]
    rows: dict[str, list] = {"input_ids": [], "labels": []}
    dropped = 0
    for prompt, completion in zip(prompt_ids, completion_ids):
        completion = completion + [tokenizer.eos_token_id]
        if len(prompt) + len(completion) > max_length:
            dropped += 1
            continue
        rows["input_ids"].append(prompt + completion)
        rows["labels"].append([IGNORE] * len(prompt) + completion)
    return {"rows": rows, "dropped": dropped}


def train_causal_lm(
    *,
    base_model: str | Path,
    prompts: Sequence[str],
    completions: Sequence[str],
    params: TrainingParams,
    out: Path,
) -> dict:
    """Fine-tune `base_model` on (prompt, completion) pairs; save model, tokenizer, curve, params."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer

    tokenizer = from_pretrained(AutoTokenizer, base_model)
    model = from_pretrained(AutoModelForCausalLM, base_model)
    max_length = getattr(model.config, "max_position_embeddings", 2048)
    tokenized = tokenize_pairs(tokenizer, prompts, completions, max_length=max_length)
    dataset = Dataset.from_dict(tokenized["rows"])
    if len(dataset) == 0:
        raise ValueError("no training pairs fit the model's context")
    work = Path(tempfile.mkdtemp(prefix=".trainer.", dir=out.parent))
    trainer = Trainer(
        model=model,
        args=training_arguments(params, work),
        train_dataset=dataset,
        data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE, padding=True),
    )
    result = trainer.train()
    final_loss = save_trained(trainer, tokenizer, params, work, out)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "examples": len(dataset),
        "dropped_too_long": tokenized["dropped"],
        "steps": result.global_step,
        "final_loss": final_loss,
        "train_seconds": round(result.metrics.get("train_runtime", 0.0), 1),
    }
