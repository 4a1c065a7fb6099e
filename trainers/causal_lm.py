"""Causal-LM supervised fine-tuning with the loss on completion tokens only.

Used for the student (SFT, expert iteration) and for the refiners. Runs under
`accelerate launch` unchanged, since all distribution is left to transformers' Trainer.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from factory.params import TrainingParams
from factory.tables import replace_dir

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
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModelForCausalLM.from_pretrained(base_model)
    max_length = getattr(model.config, "max_position_embeddings", 2048)
    tokenized = tokenize_pairs(tokenizer, prompts, completions, max_length=max_length)
    dataset = Dataset.from_dict(tokenized["rows"])
    if len(dataset) == 0:
        raise ValueError("no training pairs fit the model's context")
    work = Path(tempfile.mkdtemp(prefix=".trainer.", dir=out.parent))
    arguments = TrainingArguments(
        output_dir=str(work),
        per_device_train_batch_size=params.batch_size,
        num_train_epochs=params.epochs,
        max_steps=params.max_steps,
        learning_rate=params.lr,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr": params.min_lr},
        warmup_steps=params.warmup_ratio,  # a float in [0, 1) is a share of all steps
        weight_decay=params.weight_decay,
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        seed=params.seed,
        data_seed=params.seed,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=dataset,
        data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE, padding=True),
    )
    result = trainer.train()
    if trainer.is_world_process_zero():
        trainer.save_model(str(work / "model"))
        tokenizer.save_pretrained(work / "model")
        curve = [row for row in trainer.state.log_history if "loss" in row]
        with open(work / "model" / "train_curve.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", "loss", "learning_rate"])
            writer.writerows([row["step"], row["loss"], row["learning_rate"]] for row in curve)
        (work / "model" / "train_params.json").write_text(json.dumps(asdict(params), indent=2))
        replace_dir(work / "model", out)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "examples": len(dataset),
        "dropped_too_long": tokenized["dropped"],
        "steps": result.global_step,
        "final_loss": round(curve[-1]["loss"], 4) if trainer.is_world_process_zero() and curve else None,
        "train_seconds": round(result.metrics.get("train_runtime", 0.0), 1),
    }
