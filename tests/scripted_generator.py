"""A deterministic stand-in for the student: it knows every reference solution and, by a
seeded hash of (prompt, seed, sample), either finishes the solution correctly or botches
its last step. Stage wiring, SQL, suites and evaluation then run end to end in seconds."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from factory.generation import Completion


class ScriptedGenerator:
    def __init__(self, questions: Sequence[dict], *, correct_share: float = 0.5) -> None:
        self.by_text = {q["question"]: q for q in questions}
        self.correct_share = correct_share

    def _continue(self, prompt: str, seed: int, sample: int) -> str:
        question = self.by_text[prompt.split("Question: ", 1)[1].split("\n", 1)[0]]
        steps, answer = question["solution"], question["answer"]
        given = 0
        if "\nAnswer:\n" in prompt:
            given = len([line for line in prompt.split("\nAnswer:\n", 1)[1].splitlines() if line.strip()])
        digest = hashlib.sha256(f"{prompt}|{seed}|{sample}".encode()).digest()
        if int.from_bytes(digest[:4], "big") / 2**32 < self.correct_share:
            return "\n".join([*steps[given:], f"#### {answer}"])
        botched = [*steps[given:-1], "Then it is 1 + 1 = <<1+1=3>>3."] if given < len(steps) else []
        return "\n".join([*botched, f"#### {int(float(answer)) + 1}"])

    def generate(self, prompts, *, n, temperature, top_p, max_new_tokens, seed, stop=()):
        return [
            [Completion(text, len(text.split())) for text in (self._continue(p, seed, j) for j in range(n))]
            for p in prompts
        ]
