"""What every trainer shares: the schedule from params, and saving model + curve atomically."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from factory.params import TrainingParams
from factory.tables import replace_dir


def training_arguments(params: TrainingParams, work: Path):
    """Trainer arguments for a cosine schedule from `lr` down to `min_lr` (paper, Table 4)."""
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
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


def save_trained(trainer, tokenizer, params: TrainingParams, work: Path, out: Path) -> float | None:
    """Save model, tokenizer, training curve and resolved params, then swap them into `out`.

    Only the main process writes (under `accelerate launch` every process runs this).
    Returns the last logged loss."""
    if not trainer.is_world_process_zero():
        return None
    from transformers import PreTrainedModel

    folder = work / "model"
    if isinstance(trainer.model, PreTrainedModel):
        trainer.save_model(str(folder))
    else:  # a composite model (factory/surprisal_classifier.py) saves its own parts
        trainer.model.save_pretrained(folder)
    # it pickles the run's temporary folder name, so two identical runs would differ; the
    # params that matter are in train_params.json
    (folder / "training_args.bin").unlink(missing_ok=True)
    tokenizer.save_pretrained(folder)
    curve = [row for row in trainer.state.log_history if "loss" in row]
    with open(folder / "train_curve.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "loss", "learning_rate"])
        writer.writerows([row["step"], row["loss"], row["learning_rate"]] for row in curve)
    (folder / "train_params.json").write_text(json.dumps(asdict(params), indent=2))
    replace_dir(folder, out)
    return round(curve[-1]["loss"], 4) if curve else None
