"""The interface every task implements: questions, answer checking and step parsing."""

from __future__ import annotations

import pyarrow as pa

from factory.tasks import answers


class Task:
    """A source of questions plus the answer and step conventions every stage shares."""

    name: str = ""

    def load(self, split: str) -> pa.Table:
        """The `questions` table of one split (`train` or `test`)."""
        raise NotImplementedError

    def extract_answer(self, text: str) -> str | None:
        return answers.extract_answer(text)

    def is_correct(self, text_or_answer: str | None, reference: str) -> bool:
        return answers.is_correct(text_or_answer, reference)

    def split_steps(self, solution_text: str) -> list[str]:
        return answers.split_steps(solution_text)

    def step_result(self, step: str) -> str | None:
        return answers.step_result(step)

    def dropped_rows(self) -> dict[str, dict[str, int]]:
        """Source rows skipped under `task.bad_rows: drop`, per split and reason, for the
        stage's summary; a generated task drops none."""
        return {}
