"""The one place where prompts and completions are formatted.

Every stage and trainer builds text through these functions, so the student, the
verifiers, the reward models and the refiners all see the same format.
"""

from __future__ import annotations

from collections.abc import Sequence

ANSWER_PREFIX = "#### "
BAD_MARKER = "[BAD]"


def student_prompt(question: str) -> str:
    """The prompt a solution (or a verifier's continuation of a prefix) is generated from."""
    return f"Question: {question}\nAnswer:\n"


def solution_text(steps: Sequence[str], answer: str | None) -> str:
    """A completion as the student writes it: one step a line, then `#### answer`."""
    lines = list(steps)
    if answer is not None:
        lines.append(f"{ANSWER_PREFIX}{answer}")
    return "\n".join(lines)


def prefix_prompt(question: str, steps: Sequence[str]) -> str:
    """Prompt plus the prefix P_i = steps 1..i, ready for a verifier to continue."""
    return student_prompt(question) + "".join(f"{step}\n" for step in steps)
