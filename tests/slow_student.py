"""`python tests/slow_student.py QUESTIONS SECONDS glore-args...`: run one `glore` command with
the scripted student (tests/scripted_generator.py), every generator call slowed by SECONDS, so a
test can SIGKILL the stage part-way through its units."""

from __future__ import annotations

import sys
import time

import pyarrow.parquet as pq
from scripted_generator import ScriptedGenerator

import factory.generation.hf as hf
from factory.cli import app


class SlowStudent(ScriptedGenerator):
    def __init__(self, questions: list[dict], seconds: float) -> None:
        super().__init__(questions)
        self.seconds = seconds

    def generate(self, prompts, **kwargs):
        time.sleep(self.seconds)
        return super().generate(prompts, **kwargs)


if __name__ == "__main__":
    questions_path, seconds, *command = sys.argv[1:]
    questions = pq.read_table(questions_path).to_pylist()
    hf.HFGenerator = lambda path, batch_size=64, dtype="auto": SlowStudent(questions, float(seconds))
    app(command)
