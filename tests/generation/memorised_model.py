"""A tiny Llama that has memorised three solutions, so every backend's greedy output is known.

Each solution runs on past its `#### N` line, so the answer-line cut is visible; heads are
32 wide because vLLM's CPU attention has no smaller head size."""

from __future__ import annotations

from pathlib import Path

from factory.prompts import student_prompt

QUESTIONS = [
    "Ann has 2 cats and 3 dogs. How many pets?",
    "Bo buys 4 bags of 5 nuts. How many nuts?",
    "Cy had 9 pens and lost 6. How many are left?",
]
SOLUTIONS = [
    "Ann has 2 + 3 = 5 pets.\n#### 5\nNo more pets.",
    "Bo has 4 * 5 = 20 nuts.\nHe eats none.\n#### 20\nSo many nuts!",
    "Cy has 9 - 6 = 3 pens.\n#### 3\nThat is all.",
]
PROMPTS = [student_prompt(question) for question in QUESTIONS]
CONTEXT = 128  # max_position_embeddings: long enough for every solution, short to overflow


def build_memorised_model(out: Path) -> None:
    """Train a 2-layer Llama on the three texts long enough (150 steps) for greedy decoding to
    reproduce them; the contract tests would fail on any slip."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from factory.base import train_tokenizer

    texts = [prompt + solution for prompt, solution in zip(PROMPTS, SOLUTIONS)]
    tokenizer = train_tokenizer(texts, vocab_size=300)
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=CONTEXT,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            tie_word_embeddings=True,
        )
    )
    rows = [ids + [tokenizer.eos_token_id] for ids in tokenizer(texts)["input_ids"]]
    # Padding goes last, where causal attention keeps it out of every real token's view.
    width = max(map(len, rows))
    input_ids = torch.tensor([row + [tokenizer.pad_token_id] * (width - len(row)) for row in rows])
    labels = torch.where(input_ids == tokenizer.pad_token_id, -100, input_ids)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    # Matrices this small train fastest on one thread, and much faster when other work shares
    # the cores (3 s against 13 s measured on two busy cores).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(150):
            loss = model(input_ids=input_ids, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)

