"""SVAMP (Patel et al., 2021): simple arithmetic word problems with variations.

A record is `{"ID", "Body", "Question", "Equation", "Answer"}`; the question a model sees is
the body and the question joined. SVAMP has no worked solutions, so `solution` is empty and
the first student data comes from 1-shot prompting the base model (`prompts.one_shot_prompt`
with the example in `task.shot`), as in the paper.
"""

from __future__ import annotations

from factory.tasks import answers
from factory.tasks.sources import BadRow, ParsedRow, SourceTask, read_json_list, require_mapping, text_field


def canonical_answer(value: object) -> str:
    """`Answer` as a canonical number string; hub copies store it as a float or as text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRow("no answer", f"field 'Answer' is {value!r}")
    number = None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        number = answers.normalise_number(str(value))
    if number is None:
        raise BadRow("non-numeric answer", repr(value))
    return number


class SvampTask(SourceTask):
    name = "svamp"
    hub_id = "ChilleD/SVAMP"  # the 700 train / 300 test split of the 1,000 SVAMP problems
    read_file = staticmethod(read_json_list)

    def parse_row(self, record: object) -> ParsedRow:
        record = require_mapping(record)
        ask = text_field(record, "Question", "no question")
        body = record.get("Body") or ""
        if not isinstance(body, str):
            raise BadRow("no question", f"field 'Body' is {body!r}")
        question = f"{body.strip()} {ask}".strip()
        source_id = record.get("ID")
        return ParsedRow(
            question, canonical_answer(record.get("Answer")), [], None if source_id is None else str(source_id)
        )
