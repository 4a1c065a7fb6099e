from __future__ import annotations

import pytest

from factory.params import ShotParams
from factory.prompts import (
    BAD_MARKER,
    REFINE_INSTRUCTION,
    one_shot_prompt,
    prefix_prompt,
    refine_prompt,
    student_prompt,
    uses_chat,
)

# A made-up template: it shows each turn's role, so tests can see which turns were rendered.
TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
DRAFT = ["He buys 3 * 4 = <<3*4=12>>12 pens.", "He gives away 12 - 5 = <<12-5=8>>8 pens."]


@pytest.fixture(scope="module")
def chat_tokenizer():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")))
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def test_plain_formats_without_a_chat_template():
    assert student_prompt("How many?") == "Question: How many?\nAnswer:\n"
    assert prefix_prompt("How many?", ["Step one.", "Step two."]) == "Question: How many?\nAnswer:\nStep one.\nStep two.\n"
    assert not uses_chat(None) and not uses_chat(object())


def test_global_refine_prompt_carries_question_and_whole_draft():
    prompt = refine_prompt("How many pens?", DRAFT, draft_answer="8")
    assert prompt == f"Question: How many pens?\nDraft:\n{DRAFT[0]}\n{DRAFT[1]}\n#### 8\nRefinement:\n"
    assert BAD_MARKER not in prompt


def test_local_refine_prompt_marks_the_bad_step():
    prompt = refine_prompt("How many pens?", DRAFT, bad_step=2)
    assert prompt == f"Question: How many pens?\nDraft:\n{DRAFT[0]}\n{BAD_MARKER} {DRAFT[1]}\nRefinement:\n"
    assert refine_prompt("Q?", DRAFT, 1).count(BAD_MARKER) == 1


@pytest.mark.parametrize("bad_step", [0, 3])
def test_a_bad_step_outside_the_draft_is_refused(bad_step):
    with pytest.raises(ValueError, match=f"bad_step {bad_step} is not a step of a 2-step draft"):
        refine_prompt("Q?", DRAFT, bad_step)


def test_one_shot_prompt_puts_the_example_before_the_question():
    shot = ShotParams(question="What is 2 + 2?", solution="2 + 2 = <<2+2=4>>4.\n#### 4\n")
    prompt = one_shot_prompt("What is 3 + 3?", shot)
    assert prompt == "Question: What is 2 + 2?\nAnswer:\n2 + 2 = <<2+2=4>>4.\n#### 4\n\nQuestion: What is 3 + 3?\nAnswer:\n"
    assert one_shot_prompt("Q?", ShotParams()).endswith(student_prompt("Q?"))


def test_a_chat_template_is_used_when_the_tokenizer_has_one(chat_tokenizer):
    assert uses_chat(chat_tokenizer)
    assert student_prompt("How many?", chat_tokenizer) == "<|user|>How many?<|end|><|assistant|>"
    assert prefix_prompt("How many?", ["Step one."], chat_tokenizer) == "<|user|>How many?<|end|><|assistant|>Step one.\n"
    shot = ShotParams(question="What is 2 + 2?", solution="#### 4")
    assert one_shot_prompt("Q?", shot, chat_tokenizer) == (
        "<|user|>What is 2 + 2?<|end|><|assistant|>#### 4<|end|><|user|>Q?<|end|><|assistant|>"
    )
    local = refine_prompt("Q?", DRAFT, 2, tokenizer=chat_tokenizer)
    assert local == (
        f"<|user|>Question: Q?\nDraft:\n{DRAFT[0]}\n{BAD_MARKER} {DRAFT[1]}\n{REFINE_INSTRUCTION}<|end|><|assistant|>"
    )
