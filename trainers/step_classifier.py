"""Step classifiers (ORM, balanced ORM, SORM): a token-classification head on a causal LM.

Each rollout is one sequence holding the labels of all its kept steps on their boundary
tokens (-100 everywhere else), so the loss is only where a label exists.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from factory import from_pretrained
from factory.params import TrainingParams
from factory.scoring import StepScorer
from factory.step_encoding import encode_steps
from factory.surprisal_classifier import SurprisalStepClassifier
from trainers.common import save_trained, training_arguments

IGNORE = -100


def tokenize_examples(tokenizer, examples: list[dict], *, max_length: int) -> dict:
    """input_ids and per-token labels; `examples` hold question, steps, labels (None = unlabelled)
    and, where the last step is kept, its answer line (`answer`, None if it has none)."""
    rows: dict[str, list] = {"input_ids": [], "labels": [], "completion_start": []}
    dropped_labels = 0
    for example in examples:
        encoded = encode_steps(tokenizer, example["question"], example["steps"], answer=example.get("answer"),
                               max_length=max_length)
        labels = [IGNORE] * len(encoded.input_ids)
        for position, label in zip(encoded.positions, example["labels"]):
            if label is not None:
                labels[position] = int(label)
        dropped_labels += sum(label is not None for label in example["labels"][len(encoded.positions) :])
        if any(label != IGNORE for label in labels):
            rows["input_ids"].append(encoded.input_ids)
            rows["labels"].append(labels)
            rows["completion_start"].append(encoded.completion_start)
    return {"rows": rows, "dropped_labels": dropped_labels}


def train_step_classifier(
    *, init_model: str | Path, train: list[dict], holdout: list[dict], params: TrainingParams, out: Path,
    surprisal: bool = False,
) -> dict:
    """Fine-tune a token-classification head (and body) from `init_model`; report held-out accuracy.
    With `surprisal`, the classifier also reads `init_model`'s surprise at each token
    (factory/surprisal_classifier.py)."""
    from datasets import Dataset
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        set_seed,
    )

    tokenizer = from_pretrained(AutoTokenizer, init_model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # the new head's weights are drawn as the model loads, before Trainer seeds anything
    set_seed(params.seed)
    labels = {"num_labels": 2, "id2label": {0: "incorrect", 1: "correct"}, "label2id": {"incorrect": 0, "correct": 1}}
    if surprisal:
        model = SurprisalStepClassifier.from_student(init_model, **labels)
    else:
        model = from_pretrained(AutoModelForTokenClassification, init_model, **labels)
    model.config.pad_token_id = tokenizer.pad_token_id
    max_length = getattr(model.config, "max_position_embeddings", 2048)
    encoded = tokenize_examples(tokenizer, train, max_length=max_length)
    encoded_holdout = tokenize_examples(tokenizer, holdout, max_length=max_length)
    if not encoded["rows"]["input_ids"]:
        raise ValueError("no labelled steps to train on")
    work = Path(tempfile.mkdtemp(prefix=".trainer.", dir=out.parent))
    trainer = Trainer(
        model=model,
        args=training_arguments(params, work),
        train_dataset=Dataset.from_dict(encoded["rows"]),
        data_collator=DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORE),
    )
    result = trainer.train()
    model.eval()
    stats = {
        "train_rollouts": len(encoded["rows"]["input_ids"]),
        "train_labels": sum(label != IGNORE for row in encoded["rows"]["labels"] for label in row),
        "dropped_labels": encoded["dropped_labels"] + encoded_holdout["dropped_labels"],
        "steps": result.global_step,
        "train_seconds": round(result.metrics.get("train_runtime", 0.0), 1),
        "holdout_step_accuracy": StepScorer(model, tokenizer).step_accuracy(holdout),
        "final_loss": save_trained(trainer, tokenizer, params, work, out),
    }
    shutil.rmtree(work, ignore_errors=True)
    return stats
