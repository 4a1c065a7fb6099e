from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from factory.params import TrainingParams
from trainers.causal_lm import IGNORE, tokenize_pairs, train_causal_lm


def test_prompt_tokens_are_masked_and_the_completion_ends_with_eos(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = tokenize_pairs(tokenizer, ["Question: 2 + 2?\nAnswer:\n"], ["2 + 2 = 4\n#### 4"], max_length=64)["rows"]
    ids, labels = rows["input_ids"][0], rows["labels"][0]
    n_prompt = len(tokenizer("Question: 2 + 2?\nAnswer:\n", add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [IGNORE] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:] and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids[n_prompt:], skip_special_tokens=True) == "2 + 2 = 4\n#### 4"


def test_the_loss_ignores_prompt_tokens(tiny_model):
    """Changing only the labels under the prompt cannot change the loss once they are masked."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    rows = tokenize_pairs(tokenizer, ["Question: 1?\nAnswer:\n"], ["#### 1"], max_length=64)["rows"]
    ids = torch.tensor(rows["input_ids"])
    masked = torch.tensor(rows["labels"])
    unmasked = ids.clone()
    with torch.no_grad():
        masked_loss = model(input_ids=ids, labels=masked).loss
        unmasked_loss = model(input_ids=ids, labels=unmasked).loss
        completion_only = torch.full_like(ids, IGNORE)
        n_prompt = int((masked == IGNORE).sum())
        completion_only[0, n_prompt:] = ids[0, n_prompt:]
        assert torch.isclose(model(input_ids=ids, labels=completion_only).loss, masked_loss)
    assert not torch.isclose(masked_loss, unmasked_loss)


def test_too_long_pairs_are_dropped_and_counted(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    result = tokenize_pairs(tokenizer, ["Q: 1\n", "Q: 2\n"], ["#### 1", "x " * 200], max_length=40)
    assert result["dropped"] == 1 and len(result["rows"]["input_ids"]) == 1


def test_a_tiny_run_lowers_the_loss_and_saves_everything(tiny_model, tmp_path):
    prompts = [f"Question: what is {n} plus 1?\nAnswer:\n" for n in range(8)]
    completions = [f"{n} + 1 = <<{n}+1={n + 1}>>{n + 1}\n#### {n + 1}" for n in range(8)]
    out = tmp_path / "sft"
    params = TrainingParams(max_steps=30, batch_size=8, lr=3e-3, min_lr=1e-4)
    stats = train_causal_lm(base_model=tiny_model, prompts=prompts, completions=completions, params=params, out=out)
    curve = (out / "train_curve.csv").read_text().splitlines()
    first, last = float(curve[1].split(",")[1]), float(curve[-1].split(",")[1])
    assert last < first and stats["steps"] == 30
    assert (out / "train_params.json").is_file() and (out / "config.json").is_file()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_the_same_run_twice_gives_the_same_model_folder(tiny_model, tmp_path):
    prompts = [f"Question: what is {n} plus 1?\nAnswer:\n" for n in range(4)]
    completions = [f"#### {n + 1}" for n in range(4)]
    params = TrainingParams(max_steps=3, batch_size=2)
    for run in ("a", "b"):
        train_causal_lm(base_model=tiny_model, prompts=prompts, completions=completions, params=params,
                        out=tmp_path / run)
    files = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert "model.safetensors" in files and files == sorted(path.name for path in (tmp_path / "b").iterdir())
    assert all((tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes() for name in files)


def test_a_task_without_solutions_bootstraps_from_one_shot_samples(tiny_model, monkeypatch):
    """SVAMP's first student data: the base model's correct, de-duplicated 1-shot samples."""
    import factory.sft as sft
    from factory.generation import Completion
    from factory.params_file import parse_params

    seen = {}

    class OneShot:
        def generate(self, prompts, *, n, stop=(), **_):
            seen["prompts"], seen["stop"] = prompts, stop
            # per question: a correct sample twice (kept once), then a wrong one (dropped)
            return [[Completion("x = <<2+2=4>>4\n#### 4", 9)] * 2 + [Completion("#### 5", 2)] for _ in prompts]

    monkeypatch.setattr(sft, "make_generator", lambda params, path: OneShot())
    params = parse_params({"sft": {"bootstrap": {"k": 3}}})
    questions = [{"question_id": "svamp-train-00000", "question": "What is 2 + 2?", "answer": "4"},
                 {"question_id": "svamp-train-00001", "question": "What is 1 + 3?", "answer": "4"}]
    pairs = sft.one_shot_solutions(params, base_model=tiny_model, questions=questions)
    assert pairs == [("What is 2 + 2?", "x = <<2+2=4>>4\n#### 4"), ("What is 1 + 3?", "x = <<2+2=4>>4\n#### 4")]
    assert seen["prompts"][0].count("Question:") == 2 and seen["prompts"][0].endswith("What is 2 + 2?\nAnswer:\n")
    assert seen["stop"] == ("\n\nQuestion:",)


def test_refiners_train_on_the_prompt_they_see_at_test_time():
    """The pair's prompt must be exactly what `glore refine-drafts` and `evaluate` build for a draft."""
    from factory.refinery import Solution
    from factory.prompts import refine_prompt
    from factory.refiner import refinement_pairs

    pair = {"question_id": "q", "draft": ["a = <<1+1=3>>3"], "draft_answer": "3", "bad_step": 1,
            "target": ["a = <<1+1=2>>2"], "target_answer": "2"}
    prompts, completions = refinement_pairs("local", [pair], [{"question_id": "q", "question": "1+1?"}],
                                            tokenizer=None)
    draft = Solution.parse("a = <<1+1=3>>3\n#### 3")
    assert prompts == [refine_prompt("1+1?", draft.steps, 1, draft_answer=draft.answer)]
    assert completions == ["a = <<1+1=2>>2\n#### 2"]
