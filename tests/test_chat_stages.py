"""Every stage that prompts goes through the chat template of the model's tokenizer, the same way
in training and at test time, and a model without a template keeps the plain format byte for byte.

The model is the tiny one with a small made-up template (tests/test_prompts.py's) saved into its
folder; generation is a stand-in that records its prompts, training one that records its pairs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_prompts import TEMPLATE
from tiny_params import TINY_PARAMS

from factory.generation import Completion
from factory.params_file import parse_params
from factory.prompts import chat_tokenizer, prefix_prompt, refine_prompt, student_prompt
from factory.refinery import Solution, refine_all
from factory.refiner import refinement_pairs
from factory.step_encoding import encode_steps

PARAMS = parse_params(TINY_PARAMS)
# wrong on purpose, so that the verify stage has incorrect rollouts to continue
SOLUTION = "a = 1 + 1 = <<1+1=3>>3\nb = 3 + 1 = <<3+1=4>>4\n#### 4"


class RecordingGenerator:
    def __init__(self) -> None:
        self.prompts: list[str] = []

    def generate(self, prompts, *, n, temperature, top_p, max_new_tokens, seed, stop=()):
        self.prompts.extend(prompts)
        return [[Completion(SOLUTION, 9)] * n for _ in prompts]


def render(question: str) -> str:
    return f"<|user|>{question}<|end|><|assistant|>"


@pytest.fixture(scope="module")
def chat_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model, its tokenizer given a chat template."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("chat") / "model"
    shutil.copytree(tiny_model, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = TEMPLATE
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def questions(tmp_path_factory) -> Path:
    from factory.prepare import prepare

    path = tmp_path_factory.mktemp("data") / "questions.parquet"
    prepare(PARAMS, out=path)
    return path


@pytest.fixture
def recorder(monkeypatch) -> RecordingGenerator:
    import factory.generation.hf as hf

    generator = RecordingGenerator()
    monkeypatch.setattr(hf, "HFGenerator", lambda *_, **__: generator)
    return generator


def test_a_model_without_a_chat_template_keeps_the_plain_prompts_byte_for_byte(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert chat_tokenizer(tiny_model) is None
    assert student_prompt("How many?", tokenizer) == student_prompt("How many?") == "Question: How many?\nAnswer:\n"
    assert prefix_prompt("Q?", ["a."], tokenizer) == "Question: Q?\nAnswer:\na.\n"
    assert refine_prompt("Q?", ["a."], 1, tokenizer=tokenizer) == "Question: Q?\nDraft:\n[BAD] a.\nRefinement:\n"
    encoded = encode_steps(tokenizer, "Q?", ["a."], max_length=64)
    plain = tokenizer("Question: Q?\nAnswer:\n", add_special_tokens=False)["input_ids"]
    assert encoded.input_ids[: encoded.completion_start] == plain


def test_sft_trains_on_the_prompts_it_samples_from(chat_model, questions, recorder, tmp_path, monkeypatch):
    import trainers.causal_lm
    from factory.sft import sft

    trained = {}

    def train(*, base_model, prompts, completions, params, out):
        trained.update(prompts=prompts, completions=completions)
        shutil.copytree(base_model, out)
        return {}

    monkeypatch.setattr(trainers.causal_lm, "train_causal_lm", train)
    sft(PARAMS, base_model=chat_model, questions=questions, out=tmp_path / "sft")
    table = pq.read_table(questions).to_pylist()
    train_text = [q["question"] for q in table if q["split"] == "train"]
    test_text = [q["question"] for q in table if q["split"] == "test"][: PARAMS.sft.eval_questions]
    assert trained["prompts"] == [render(question) for question in train_text]
    assert recorder.prompts == [render(question) for question in test_text]


def test_rollouts_and_verifiers_continue_the_templated_prompt(chat_model, questions, recorder, tmp_path):
    from factory.rollouts import rollouts
    from factory.verify import verify

    rollouts(PARAMS, model=chat_model, questions=questions, out=tmp_path / "rollouts.parquet")
    sampled = list(recorder.prompts)
    recorder.prompts.clear()
    verify(PARAMS, model=chat_model, rollouts=tmp_path / "rollouts.parquet", questions=questions,
           out=tmp_path / "verifications.parquet")
    train = [q["question"] for q in pq.read_table(questions).to_pylist() if q["split"] == "train"]
    assert sampled == [render(question) for question in train[: PARAMS.rollouts.max_questions]]
    first_step = SOLUTION.split("\n")[0]
    assert recorder.prompts and all(prompt.startswith("<|user|>") and prompt.endswith(f"<|assistant|>{first_step}\n")
                                    for prompt in recorder.prompts)


def test_the_refiner_trains_on_the_prompts_it_refines_with(chat_model):
    tokenizer = chat_tokenizer(chat_model)
    pair = {"question_id": "q", "draft": ["a = <<1+1=3>>3", "b = <<3+1=4>>4"], "draft_answer": "4", "bad_step": 1,
            "target": ["a = <<1+1=2>>2"], "target_answer": "2"}
    recorder = RecordingGenerator()
    draft = Solution(pair["draft"], pair["draft_answer"])
    for kind, marks in (("global", None), ("local", [1])):
        prompts, _ = refinement_pairs(kind, [pair], [{"question_id": "q", "question": "1+1?"}], tokenizer=tokenizer)
        recorder.prompts.clear()
        refine_all(recorder, ["1+1?"], [draft], marks, max_new_tokens=8, tokenizer=tokenizer)
        assert recorder.prompts == prompts
        assert prompts[0].startswith("<|user|>Question: 1+1?\nDraft:\n") and prompts[0].endswith("<|assistant|>")


def test_a_step_classifier_reads_the_prompt_the_student_was_sampled_from(chat_model):
    tokenizer = chat_tokenizer(chat_model)
    encoded = encode_steps(tokenizer, "Q?", ["a."], max_length=64)
    sampled = tokenizer(render("Q?"), add_special_tokens=False)["input_ids"]
    assert encoded.input_ids[: encoded.completion_start] == sampled
