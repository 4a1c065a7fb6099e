"""The one place where prompts and completions are formatted.

Every stage and trainer builds text through these functions, so the student, the
verifiers, the reward models and the refiners all see the same format.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from factory import from_pretrained
from factory.params import ShotParams

ANSWER_PREFIX = "#### "
BAD_MARKER = "[BAD]"
# A chat model reads the refiner's request as a user turn, which needs saying what to do;
# the plain format ends with a `Refinement:` header instead.
REFINE_INSTRUCTION = "Write a correct solution to the question, improving on the draft."


def uses_chat(tokenizer: object | None) -> bool:
    """Whether prompts for this tokenizer go through its chat template (chat models) rather
    than the plain `Question: ...` format (base models and the tiny default model)."""
    return tokenizer is not None and bool(getattr(tokenizer, "chat_template", None))


def chat_tokenizer(model: str | Path) -> object | None:
    """The tokenizer of `model` when it has a chat template, else None: what every function here
    takes as `tokenizer`, so that a model is prompted (in training and at test time) the way its
    own tokenizer says, and a model without a template in the plain format. A local folder whose
    files mention no template is plain without loading its tokenizer."""
    folder = Path(model)
    if folder.is_dir() and not _mentions_chat_template(folder):
        return None
    from transformers import AutoTokenizer

    tokenizer = from_pretrained(AutoTokenizer, model)
    return tokenizer if uses_chat(tokenizer) else None


def _mentions_chat_template(folder: Path) -> bool:
    """Whether save_pretrained left a chat template in `folder`, in one transformers version or
    another: a file of its own, or (older versions) a key of tokenizer_config.json. A false
    positive only costs loading the tokenizer, which then decides."""
    if any((folder / name).is_file() for name in ("chat_template.jinja", "chat_template.json")):
        return True
    config = folder / "tokenizer_config.json"
    return config.is_file() and "chat_template" in config.read_text(errors="replace")


def chat_prompt(tokenizer: object, turns: Sequence[str]) -> str:
    """User and assistant turns, alternating from the user's, rendered by the tokenizer's chat
    template up to where the assistant's next reply begins."""
    messages = [{"role": "assistant" if i % 2 else "user", "content": turn} for i, turn in enumerate(turns)]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def student_prompt(question: str, tokenizer: object | None = None) -> str:
    """The prompt a solution (or a verifier's continuation of a prefix) is generated from."""
    if uses_chat(tokenizer):
        return chat_prompt(tokenizer, [question])
    return f"Question: {question}\nAnswer:\n"


def solution_text(steps: Sequence[str], answer: str | None) -> str:
    """A completion as the student writes it: one step a line, then `#### answer`."""
    lines = list(steps)
    if answer is not None:
        lines.append(f"{ANSWER_PREFIX}{answer}")
    return "\n".join(lines)


def prefix_prompt(question: str, steps: Sequence[str], tokenizer: object | None = None) -> str:
    """Prompt plus the prefix P_i = steps 1..i, ready for a verifier to continue."""
    return student_prompt(question, tokenizer) + "".join(f"{step}\n" for step in steps)


def one_shot_prompt(question: str, shot: ShotParams, tokenizer: object | None = None) -> str:
    """The student prompt after one worked example: how the base model is prompted for the
    first student data of a task without reference solutions (SVAMP)."""
    solution = shot.solution.strip()
    if uses_chat(tokenizer):
        return chat_prompt(tokenizer, [shot.question, solution, question])
    return f"{student_prompt(shot.question)}{solution}\n\n{student_prompt(question)}"


def marked_steps(steps: Sequence[str], bad_step: int | None) -> list[str]:
    """The steps with `[BAD]` in front of step `bad_step` (1-based), the first step to redo."""
    if bad_step is None:
        return list(steps)
    if not 1 <= bad_step <= len(steps):
        raise ValueError(f"bad_step {bad_step} is not a step of a {len(steps)}-step draft")
    return [f"{BAD_MARKER} {step}" if number == bad_step else step for number, step in enumerate(steps, start=1)]


def refine_prompt(
    question: str,
    draft_steps: Sequence[str],
    bad_step: int | None = None,
    *,
    draft_answer: str | None = None,
    tokenizer: object | None = None,
) -> str:
    """The refiners' prompt: the question and the student's draft, after which the refiner
    writes a whole solution (steps, then `#### answer`). Global refinement marks nothing;
    local refinement puts `[BAD]` before the first wrong step (value refinement: after the
    step of highest value)."""
    request = f"Question: {question}\nDraft:\n{solution_text(marked_steps(draft_steps, bad_step), draft_answer)}\n"
    if uses_chat(tokenizer):
        return chat_prompt(tokenizer, [request + REFINE_INSTRUCTION])
    return request + "Refinement:\n"
