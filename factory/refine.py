"""GLoRe at test time: the ORM decides *when*, the SORM *where*, the refiners *how*, and the
ORM reranks draft + global + local refinement. Shared by `glore refine` and `evaluate`."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from factory import GloreError
from factory.generation import Generator
from factory.metrics import best_index, first_bad_step, solution_score
from factory.prompts import refine_prompt
from factory.scoring import StepScorer
from factory.tables import atomic_path
from factory.tasks import answers

CANDIDATES = ("draft", "global", "local")


@dataclass(frozen=True)
class Solution:
    steps: list[str]
    answer: str | None

    @classmethod
    def parse(cls, text: str) -> Solution:
        return cls(answers.split_steps(text), answers.extract_answer(text))


def refine_all(
    generator: Generator,
    questions: Sequence[str],
    drafts: Sequence[Solution],
    bad_steps: Sequence[int | None] | None,
    *,
    max_new_tokens: int,
) -> list[Solution]:
    """Greedy refinements of every draft. Global refinement (`bad_steps` None) marks nothing;
    local refinement marks `[BAD]` at each draft's bad step and keeps a draft with none as is."""
    marks = list(bad_steps) if bad_steps is not None else [None] * len(drafts)
    wanted = [i for i, mark in enumerate(marks) if bad_steps is None or mark is not None]
    prompts = [refine_prompt(questions[i], drafts[i].steps, marks[i], draft_answer=drafts[i].answer) for i in wanted]
    outputs = generator.generate(prompts, n=1, temperature=0.0, top_p=1.0, max_new_tokens=max_new_tokens, seed=0)
    refined = list(drafts)
    for i, completions in zip(wanted, outputs):
        refined[i] = Solution.parse(completions[0].text)
    return refined


def final_scores(scorer: StepScorer, questions: Sequence[str], solutions: Sequence[Solution]) -> list[float]:
    """The ORM's verdict on whole solutions: the score of the last step, answer line included."""
    step_scores = scorer.score(questions, [s.steps for s in solutions], [s.answer for s in solutions])
    return [solution_score(row, "final") for row in step_scores]


@dataclass
class Refinery:
    orm: StepScorer
    sorm: StepScorer
    global_refiner: Generator
    local_refiner: Generator
    threshold: float = 0.5
    max_new_tokens: int = 140

    def run(self, questions: Sequence[str], drafts: Sequence[Solution]) -> list[dict]:
        """For each draft: ORM and SORM scores, the located bad step, both refinements, their ORM
        scores, and the candidate the ORM picks, with the reason."""
        sorm_steps = self.sorm.score(questions, [d.steps for d in drafts], [d.answer for d in drafts])
        bad_steps = [first_bad_step(row, self.threshold) for row in sorm_steps]
        refined = {
            "draft": list(drafts),
            "global": refine_all(self.global_refiner, questions, drafts, None, max_new_tokens=self.max_new_tokens),
            "local": refine_all(self.local_refiner, questions, drafts, bad_steps, max_new_tokens=self.max_new_tokens),
        }
        scores = {name: final_scores(self.orm, questions, refined[name]) for name in CANDIDATES}
        records = []
        for i in range(len(drafts)):
            candidate_scores = [scores[name][i] for name in CANDIDATES]
            chosen = CANDIDATES[best_index(candidate_scores)]
            records.append(
                {
                    "orm_draft_score": _finite(scores["draft"][i]),
                    "sorm_step_scores": [_finite(score) for score in sorm_steps[i]],
                    "bad_step": bad_steps[i],
                    "refinements": {name: _solution_dict(refined[name][i], scores[name][i]) for name in CANDIDATES},
                    "chosen": chosen,
                    "answer": refined[chosen][i].answer,
                    "why": _why(chosen, dict(zip(CANDIDATES, candidate_scores)), bad_steps[i]),
                }
            )
        return records


def _finite(score: float) -> float | None:
    """JSON has no NaN: a score the model could not give (no steps, past its context) is null."""
    return None if math.isnan(score) else round(score, 4)


def _solution_dict(solution: Solution, orm_score: float) -> dict:
    return {"steps": solution.steps, "answer": solution.answer, "orm_score": _finite(orm_score)}


def _why(chosen: str, scores: dict[str, float], bad_step: int | None) -> str:
    listed = ", ".join(f"{name} {score:.3f}" for name, score in scores.items())
    where = f"SORM flags step {bad_step}" if bad_step else "SORM flags no step"
    return f"{where}; ORM scores {listed}: {chosen} scores highest"


def read_drafts(path: Path) -> list[dict]:
    """Parse a JSONL of {"question", "draft", optional "answer"}; every line is checked before
    any model is loaded, and a bad one is named by its line number."""
    if not path.is_file():
        raise GloreError(f"{path}: input file not found")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise GloreError(f"{path}: not UTF-8 text") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise GloreError(f"{path} line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(item, dict):
            raise GloreError(f"{path} line {number}: expected an object with question and draft")
        for key in ("question", "draft"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise GloreError(f"{path} line {number}: missing or empty {key!r}")
        if "answer" in item and answers.normalise_number(str(item["answer"])) is None:
            raise GloreError(f"{path} line {number}: answer {item['answer']!r} is not a number")
        items.append(item)
    if not items:
        raise GloreError(f"{path}: no drafts in the file")
    return items


def refine_file(refinery: Refinery, *, input_path: Path, output_path: Path, batch_size: int = 32) -> dict:
    """Refine every draft of a JSONL file into an output JSONL, written atomically."""
    from tqdm import tqdm

    items = read_drafts(input_path)
    records = []
    with tqdm(total=len(items), desc="refine", unit="draft") as progress:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            results = refinery.run([i["question"] for i in chunk], [Solution.parse(i["draft"]) for i in chunk])
            for item, result in zip(chunk, results):
                record = {"question": item["question"], "draft": item["draft"], **result}
                if "answer" in item:
                    reference = str(item["answer"])
                    record["correct"] = {
                        name: answers.same_number(result["refinements"][name]["answer"], reference)
                        for name in CANDIDATES
                    }
                    record["chosen_correct"] = answers.same_number(result["answer"], reference)
                records.append(record)
            progress.update(len(chunk))
    with atomic_path(output_path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
    chosen = [r["chosen"] for r in records]
    summary = {"drafts": len(records), "chosen": {name: chosen.count(name) for name in CANDIDATES}}
    judged = [r["chosen_correct"] for r in records if "chosen_correct" in r]
    if judged:
        summary["chosen_accuracy_where_answer_given"] = round(sum(judged) / len(judged), 4)
    return summary
