"""Answer extraction, numeric comparison and step parsing shared by every task.

Model outputs follow several conventions (`#### 18`, `The answer is 18.`, `$18.00`,
`1,000`); every stage compares answers through these functions so that a label means
the same thing everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# A number as people write it: optional sign and $, thousands commas, optional decimals.
# A minus sign only counts right after a non-operand, so `5-3` reads as 5 and 3, not 5 and -3.
NUMBER = re.compile(r"(?:(?<![\w).])-)?\$?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")
STRICT_ANSWER = re.compile(r"####\s*(" + NUMBER.pattern + r")")
PHRASED_ANSWER = re.compile(
    r"(?:[Tt]he (?:final )?answer is:?|^A:)\s*(" + NUMBER.pattern + r")", re.MULTILINE
)
CALCULATOR = re.compile(r"<<([^<>]*)=([^<>=]*)>>")
ANSWER_LINE = re.compile(r"^\s*####")


def normalise_number(text: str) -> str | None:
    """Canonical string of a number: `$1,000.50` -> `1000.5`, `18.` -> `18`; None if not a number."""
    cleaned = text.strip().replace(",", "").replace("$", "").replace(" ", "").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        # int() rather than quantize: a runaway 40-digit number must not overflow the context
        # precision, and -0 must read as 0
        return str(int(value))
    return format(value.normalize(), "f")


def numbers_in(text: str) -> list[str]:
    """Every number in `text`, normalised, in order of appearance."""
    found = (normalise_number(match.group(0)) for match in NUMBER.finditer(text))
    return [number for number in found if number is not None]


@dataclass(frozen=True)
class ExtractedAnswer:
    value: str | None
    # "strict" (`#### N`), "phrased" (`The answer is N`, `A: N`), "flexible" (last number) or "none"
    method: str


def extract(text: str) -> ExtractedAnswer:
    """Find the final answer: the strict GSM8K form first, then phrases, then the last number."""
    # The first `####` line ends a solution (split_steps stops there too); text after it is
    # the model running on into a new question, so its numbers are not the answer.
    strict = STRICT_ANSWER.search(text)
    if strict:
        return ExtractedAnswer(normalise_number(strict.group(1)), "strict")
    phrased = PHRASED_ANSWER.findall(text)
    if phrased:
        return ExtractedAnswer(normalise_number(phrased[-1]), "phrased")
    numbers = numbers_in(text)
    if numbers:
        return ExtractedAnswer(numbers[-1], "flexible")
    return ExtractedAnswer(None, "none")


def extract_answer(text: str) -> str | None:
    return extract(text).value


def same_number(left: str | None, right: str | None) -> bool:
    """Numeric equality of two answers (`18` = `18.0` = `$18`; `0.5` != `5`)."""
    if left is None or right is None:
        return False
    a, b = normalise_number(left), normalise_number(right)
    return a is not None and a == b


def is_correct(text_or_answer: str | None, reference: str) -> bool:
    """Whether a solution text (or a bare answer) reaches the reference answer."""
    if text_or_answer is None:
        return False
    bare = normalise_number(text_or_answer)
    answer = bare if bare is not None else extract_answer(text_or_answer)
    return same_number(answer, reference)


def split_steps(solution_text: str) -> list[str]:
    """Reasoning steps of a GSM8K-style solution: one per non-blank line, up to the `####` line."""
    steps = []
    for line in solution_text.splitlines():
        if ANSWER_LINE.match(line):
            break
        if line.strip():
            steps.append(line.strip())
    return steps


def step_result(step: str) -> str | None:
    """The quantity a step computes: the value of its last `<<expr=value>>`, else its last number."""
    annotations = CALCULATOR.findall(step)
    if annotations:
        value = normalise_number(annotations[-1][1])
        if value is not None:
            return value
    numbers = numbers_in(CALCULATOR.sub(" ", step))
    return numbers[-1] if numbers else None
