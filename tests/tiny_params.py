"""The tiny configuration every test runs on (a module of its own: `conftest` names collide
between test folders, so tests import it from here)."""

TINY_PARAMS = {
    "task": {"name": "arith", "seed": 1, "n_train": 40, "n_test": 8, "n_dev": 5, "min_steps": 2, "max_steps": 3},
    "generator": {"backend": "hf", "batch_size": 16},
    "base": {"vocab_size": 320, "hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "num_heads": 2,
             "pretrain": {"problems": 16, "train": {"max_steps": 2, "batch_size": 8}}},
    "sft": {"train": {"max_steps": 3, "batch_size": 8, "lr": 1.0e-3, "min_lr": 1.0e-4}, "eval_questions": 4,
            "max_new_tokens": 24},
    "ei": {"max_rounds": 1, "max_questions": 4, "eval_questions": 3, "sampling": {"k": 2, "max_new_tokens": 24},
           "train": {"max_steps": 2, "batch_size": 8}},
    "rollouts": {"max_questions": 6, "sampling": {"k": 2, "max_new_tokens": 24}},
    "verify": {"sampling": {"k": 2, "max_new_tokens": 16}},
    "reward": {"train": {"max_steps": 2, "batch_size": 8}},
    "refiner": {"train": {"max_steps": 2, "batch_size": 8}},
}
