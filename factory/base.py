"""`base` stage: the base model every policy is trained from.

By default a byte-level BPE tokenizer is trained on the task's own text, a tiny Llama is
built from scratch and pretrained on fresh problems of the task (`base.pretrain`), as the
paper starts from a Llama-2 that has read GSM8K-like text; with `source` naming a saved folder,
a hub id or a GGUF file, that model is copied instead.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from factory import GloreError, from_pretrained
from factory.gguf import is_gguf, load_gguf
from factory.params import Params
from factory.prompts import BAD_MARKER, prefix_prompt, solution_text, student_prompt
from factory.tables import replace_dir
from factory.tasks import get_task

SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}


def train_tokenizer(texts: list[str], *, vocab_size: int):
    """Byte-level BPE where digits stay single tokens and a newline is always its own token:
    arithmetic is learnable digit by digit, and every step ends on one checked token id."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split("\n", behavior="isolated"),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[*SPECIAL_TOKENS.values(), BAD_MARKER],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)
    wrapped.add_special_tokens({"additional_special_tokens": [BAD_MARKER]})
    return wrapped


def build_scratch_model(params: Params, out: Path) -> int:
    """Train the tokenizer on the train split and save an untrained tiny Llama; returns #params."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = params.base
    questions = get_task(params.task.name, params.task).load("train").to_pylist()
    texts = [prefix_prompt(q["question"], []) + solution_text(q["solution"], q["answer"]) for q in questions]
    tokenizer = train_tokenizer(texts, vocab_size=config.vocab_size)
    torch.manual_seed(config.seed)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=config.hidden_size,
            intermediate_size=config.intermediate_size,
            num_hidden_layers=config.num_layers,
            num_attention_heads=config.num_heads,
            num_key_value_heads=config.num_heads,
            max_position_embeddings=config.max_length,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            tie_word_embeddings=True,
        )
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return model.num_parameters()


def pretraining_problems(params: Params) -> list[tuple[str, str]]:
    """(question, solution) pairs of `base.pretrain.problems` fresh problems: drawn with their
    own seed, none of them a train or test question, so that no evaluation is contaminated."""
    task = get_task(params.task.name, params.task)
    draw = getattr(task, "fresh_problems", None)
    if draw is None:
        raise GloreError(f"base.pretrain needs a task that generates problems; {params.task.name} does not")
    taken = {q["question"] for split in ("train", "test") for q in task.load(split).to_pylist()}
    return draw(params.base.pretrain.problems, seed=params.base.pretrain.seed, exclude=taken)


def pretrain(params: Params, model: Path, out: Path) -> dict:
    """One epoch of causal-LM training on fresh problems, loss on the solutions."""
    from trainers.causal_lm import train_causal_lm

    pairs = pretraining_problems(params)
    return train_causal_lm(
        base_model=model,
        prompts=[student_prompt(question) for question, _ in pairs],
        completions=[solution for _, solution in pairs],
        params=params.base.pretrain.train,
        out=out,
    )


def copy_pretrained(source: str, out: Path) -> int:
    """Save a pretrained model (local folder, GGUF file, or hub id for real runs) as the base."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if is_gguf(source):
        model, tokenizer = load_gguf(source)
    else:
        tokenizer = from_pretrained(AutoTokenizer, source)
        model = from_pretrained(AutoModelForCausalLM, source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.add_special_tokens({"additional_special_tokens": [BAD_MARKER]})
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return model.num_parameters()


def base(params: Params, *, out: Path) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    summary: dict = {}
    try:
        if params.base.source == "scratch":
            summary["parameters"] = build_scratch_model(params, temporary)
            if params.base.pretrain.problems:
                # the trainer swaps its result into `out` whole, like every other model
                summary["pretrain"] = pretrain(params, temporary, out)
                return summary
        else:
            summary["parameters"] = copy_pretrained(params.base.source, temporary)
        replace_dir(temporary, out)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return summary
