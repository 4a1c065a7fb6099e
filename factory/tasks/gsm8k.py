"""GSM8K (Cobbe et al., 2021): grade-school word problems with calculator-annotated solutions.

A record is `{"question": ..., "answer": ...}` where `answer` is the reference solution: one
reasoning step a line, calculator annotations such as `<<48/2=24>>` kept, then `#### 72`.
"""

from __future__ import annotations

import re
from fractions import Fraction

from factory.tasks import answers
from factory.tasks.calculator import evaluate
from factory.tasks.sources import BadRow, ParsedRow, SourceTask, read_jsonl, require_mapping, text_field

# The first `####` line holds the answer; split_steps stops at the same line.
FINAL_LINE = re.compile(r"^\s*####(.*)$", re.MULTILINE)


class Gsm8kTask(SourceTask):
    name = "gsm8k"
    hub_id = "openai/gsm8k"
    hub_config = "main"
    read_file = staticmethod(read_jsonl)

    def parse_row(self, record: object) -> ParsedRow:
        record = require_mapping(record)
        question = text_field(record, "question", "no question")
        solution = text_field(record, "answer", "no answer")
        final = FINAL_LINE.search(solution)
        if final is None:
            raise BadRow("no answer", "the solution has no `#### N` line")
        answer = answers.normalise_number(final.group(1))
        if answer is None:
            raise BadRow("non-numeric answer", repr(final.group(1).strip()))
        return ParsedRow(question, answer, answers.split_steps(solution))


def _agrees(value: Fraction, shown: str) -> bool:
    """A value written with decimals may be rounded to them (`<<10/3=3.33>>`); an integer
    must be exact, or `<<7/2=3>>` would pass."""
    claimed = answers.normalise_number(shown)
    if claimed is None:
        return False
    decimals = len(shown.strip().partition(".")[2])
    tolerance = Fraction(1, 2 * 10**decimals) if decimals else Fraction(0)
    return abs(value - Fraction(claimed)) <= tolerance


def wrong_annotations(solution: str) -> list[str]:
    """The `<<expr=value>>` annotations of a solution whose expression does not re-evaluate
    to the value written after `=`."""
    wrong = []
    for match in answers.CALCULATOR.finditer(solution):
        value = evaluate(match.group(1))
        if value is None or not _agrees(value, match.group(2)):
            wrong.append(match.group(0))
    return wrong
