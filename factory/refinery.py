"""GLoRe at test time: the ORM decides *when*, the SORM *where*, the refiners *how*, and the
ORM reranks draft + global + local refinement. Shared by `glore refine-drafts` and `evaluate`."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from factory import GloreError, first_line
from factory.generation import Engine, Generator
from factory.metrics import best_index, first_bad_step, solution_score
from factory.params import GeneratorParams
from factory.prompts import chat_tokenizer, refine_prompt
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
    tokenizer: object | None,
) -> list[Solution]:
    """Greedy refinements of every draft. Global refinement (`bad_steps` None) marks nothing;
    local refinement marks `[BAD]` at each draft's bad step and keeps a draft with none as is.
    `tokenizer`: the refiner's, when its prompts go through its chat template."""
    marks = list(bad_steps) if bad_steps is not None else [None] * len(drafts)
    wanted = [i for i, mark in enumerate(marks) if bad_steps is None or mark is not None]
    prompts = [refine_prompt(questions[i], drafts[i].steps, marks[i], draft_answer=drafts[i].answer,
                             tokenizer=tokenizer) for i in wanted]
    outputs = generator.generate(prompts, n=1, temperature=0.0, top_p=1.0, max_new_tokens=max_new_tokens, seed=0)
    refined = list(drafts)
    for i, completions in zip(wanted, outputs):
        refined[i] = Solution.parse(completions[0].text)
    return refined


def _refine_each(generator: Generator, questions: Sequence[str], drafts: Sequence[Solution],
                 bad_steps: Sequence[int | None] | None, *, max_new_tokens: int, tokenizer: object | None,
                 name: str) -> list[Solution | str]:
    """refine_all, except that a draft the refiner cannot take (its prompt past the model's
    context) gets its one-line error instead of failing the batch: a failing batch is halved until
    each failing draft stands alone. The backends refuse before generating, so a refusal is cheap."""
    try:
        return refine_all(generator, questions, drafts, bad_steps, max_new_tokens=max_new_tokens, tokenizer=tokenizer)
    except GloreError as error:
        if len(drafts) == 1:
            return [f"{name}: {first_line(error)}"]
    half = len(drafts) // 2
    return [
        refined
        for part in (slice(None, half), slice(half, None))
        for refined in _refine_each(generator, questions[part], drafts[part],
                                    None if bad_steps is None else bad_steps[part],
                                    max_new_tokens=max_new_tokens, tokenizer=tokenizer, name=name)
    ]


def final_scores(scorer: StepScorer, questions: Sequence[str], solutions: Sequence[Solution]) -> list[float]:
    """The ORM's verdict on whole solutions: the score of the last step, answer line included."""
    step_scores = scorer.score(questions, [s.steps for s in solutions], [s.answer for s in solutions])
    return [solution_score(row, "final") for row in step_scores]


@dataclass
class Refinery:
    """The scorers stay loaded; each refiner is an Engine started for its pass over all drafts and
    released before the other starts, so one engine at a time shares the device with the scorers."""

    orm: StepScorer
    sorm: StepScorer
    global_refiner: Engine
    local_refiner: Engine
    threshold: float = 0.5
    max_new_tokens: int = 140

    def run(self, questions: Sequence[str], drafts: Sequence[Solution], *, batch_size: int) -> list[dict]:
        """For each draft: ORM and SORM scores, the located bad step, both refinements, their ORM
        scores, and the candidate the ORM picks, with the reason; or `{"error": ...}` for a draft
        a refiner cannot take. Models see the drafts in chunks of `batch_size`."""
        from tqdm import tqdm

        chunks = [slice(start, start + batch_size) for start in range(0, len(drafts), batch_size)]
        sorm_steps = [row for part in chunks
                      for row in self.sorm.score(questions[part], [d.steps for d in drafts[part]],
                                                 [d.answer for d in drafts[part]])]
        bad_steps = [first_bad_step(row, self.threshold) for row in sorm_steps]
        attempts = {}
        for name, engine, marks in (("global", self.global_refiner, None), ("local", self.local_refiner, bad_steps)):
            tokenizer = chat_tokenizer(engine.model_path)
            with engine:
                attempts[name] = [
                    outcome for part in tqdm(chunks, desc=f"{name} refiner", unit="batch")
                    for outcome in _refine_each(engine(), questions[part], drafts[part],
                                                None if marks is None else marks[part],
                                                max_new_tokens=self.max_new_tokens, tokenizer=tokenizer,
                                                name=f"{name} refiner")
                ]
        return [record for part in chunks
                for record in self._records(questions[part], drafts[part], sorm_steps[part], bad_steps[part],
                                            {name: attempt[part] for name, attempt in attempts.items()})]

    def _records(self, questions: Sequence[str], drafts: Sequence[Solution], sorm_steps: list[list[float]],
                 bad_steps: list[int | None], attempts: dict[str, list[Solution | str]]) -> list[dict]:
        errors = {}
        for attempt in attempts.values():
            for i, outcome in enumerate(attempt):
                if isinstance(outcome, str):
                    errors.setdefault(i, outcome)
        kept = [i for i in range(len(drafts)) if i not in errors]
        refined = {"draft": [drafts[i] for i in kept], **{name: [attempts[name][i] for i in kept] for name in attempts}}
        kept_questions = [questions[i] for i in kept]
        scores = {name: final_scores(self.orm, kept_questions, refined[name]) for name in CANDIDATES}
        records = {i: {"error": error} for i, error in errors.items()}
        for k, i in enumerate(kept):
            candidate_scores = [scores[name][k] for name in CANDIDATES]
            chosen = CANDIDATES[best_index(candidate_scores)]
            records[i] = {
                "orm_draft_score": _finite(scores["draft"][k]),
                "sorm_step_scores": [_finite(score) for score in sorm_steps[i]],
                "bad_step": bad_steps[i],
                "refinements": {name: _solution_dict(refined[name][k], scores[name][k]) for name in CANDIDATES},
                "chosen": chosen,
                "answer": refined[chosen][k].answer,
                "why": _why(chosen, dict(zip(CANDIDATES, candidate_scores)), bad_steps[i]),
            }
        return [records[i] for i in range(len(drafts))]


def _finite(score: float) -> float | None:
    """JSON has no NaN: a score the model could not give (no steps, past its context) is null."""
    return None if math.isnan(score) else round(score, 4)


def _solution_dict(solution: Solution, orm_score: float) -> dict:
    return {"steps": solution.steps, "answer": solution.answer, "orm_score": _finite(orm_score)}


def _why(chosen: str, scores: dict[str, float], bad_step: int | None) -> str:
    listed = ", ".join(f"{name} {score:.3f}" for name, score in scores.items())
    where = f"SORM flags step {bad_step}" if bad_step else "SORM flags no step"
    return f"{where}; ORM scores {listed}: {chosen} scores highest"


def read_drafts(path: Path) -> list[tuple[int, dict]]:
    """Parse a JSONL of {"question", "draft", optional "answer"} into (line number, item) pairs;
    every line is checked before any model is loaded, and a bad one is named by its line number."""
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
        items.append((number, item))
    if not items:
        raise GloreError(f"{path}: no drafts in the file")
    return items


def check_output(input_path: Path, output_path: Path) -> None:
    """The output replaces its path at the end, so writing over the input would lose it."""
    if output_path.exists() and output_path.samefile(input_path):
        raise GloreError(f"--output {output_path} is the input file; write the refinements elsewhere")


def check_models(*, orm: Path, sorm: Path, global_refiner: Path, local_refiner: Path) -> None:
    """Refuse a folder of the wrong kind by its config, before any weights load: a causal LM
    loaded as a classifier gets a random head, and a classifier cannot generate."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES,
    )

    for option, path in (("--orm", orm), ("--sorm", sorm)):
        config = _config(path, "a step classifier")
        if not set(config.architectures or ()) & set(MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES.values()):
            raise GloreError(f"{option} {path}: not a step classifier ({_names(config)}); "
                             "give a folder made by `glore reward`")
        if config.num_labels != 2:
            raise GloreError(f"{option} {path}: a step classifier has a head for 2 labels, this one for "
                             f"{config.num_labels}")
    for option, path in (("--global-refiner", global_refiner), ("--local-refiner", local_refiner)):
        config = _config(path, "a model")
        if not set(config.architectures or ()) & set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values()):
            raise GloreError(f"{option} {path}: not a causal LM ({_names(config)}); "
                             "give a folder made by `glore refiner` or any causal LM")


def _config(path: Path, what: str):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(path)
    except Exception as error:  # as the loaders: OSError, ValueError or a bad field, the folder is at fault
        raise GloreError(f"{path}: cannot load {what} ({first_line(error)})") from error


def _names(config) -> str:
    return f"its config names {', '.join(config.architectures or ['no architecture'])}"


def refine_file(refinery: Refinery, *, input_path: Path, output_path: Path, batch_size: int = 32) -> dict:
    """Refine every draft of a JSONL file into an output JSONL, written atomically. A draft a
    refiner cannot take gets `"error"` in its row, and the others are refined; when none can be,
    nothing is written."""
    items = read_drafts(input_path)
    check_output(input_path, output_path)
    records, error_lines = [], []
    results = refinery.run([i["question"] for _, i in items], [Solution.parse(i["draft"]) for _, i in items],
                           batch_size=batch_size)
    for (number, item), result in zip(items, results):
        record = {"question": item["question"], "draft": item["draft"], **result}
        if "error" in result:
            error_lines.append(number)
        elif "answer" in item:
            reference = str(item["answer"])
            record["correct"] = {
                name: answers.same_number(result["refinements"][name]["answer"], reference) for name in CANDIDATES
            }
            record["chosen_correct"] = answers.same_number(result["answer"], reference)
        records.append(record)
    if len(error_lines) == len(records):
        raise GloreError(f"{input_path}: no draft could be refined (line {error_lines[0]}: {records[0]['error']})")
    with atomic_path(output_path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
    chosen = [r["chosen"] for r in records if "chosen" in r]
    summary = {"drafts": len(records), "refined": len(chosen), "errors": len(error_lines),
               "error_lines": error_lines, "chosen": {name: chosen.count(name) for name in CANDIDATES}}
    judged = [r["chosen_correct"] for r in records if "chosen_correct" in r]
    if judged:
        summary["chosen_accuracy_where_answer_given"] = round(sum(judged) / len(judged), 4)
    return summary


def refine_drafts(input_path: Path, output_path: Path, *, orm: Path, sorm: Path, global_refiner: Path,
                  local_refiner: Path, threshold: float, max_new_tokens: int, batch_size: int,
                  generator: GeneratorParams | None = None) -> dict:
    """`glore refine-drafts`: a bad file, an output over the input or a model of the wrong kind fails
    before any model loads; then every draft of the file is refined (refine_file). `generator`:
    the backend and its knobs (default: vLLM where it is installed on a GPU, else hf)."""
    if not 0.0 <= threshold <= 1.0 or max_new_tokens < 1 or batch_size < 1:
        raise GloreError("need 0 <= --threshold <= 1, --max-new-tokens >= 1 and --batch-size >= 1")
    read_drafts(input_path)
    check_output(input_path, output_path)
    for path in (orm, sorm, global_refiner, local_refiner):
        if not path.exists():
            raise GloreError(f"{path}: input not found")
    check_models(orm=orm, sorm=sorm, global_refiner=global_refiner, local_refiner=local_refiner)
    generation = dataclasses.replace(generator or GeneratorParams(), batch_size=batch_size)
    refinery = Refinery(
        orm=StepScorer.from_pretrained(orm),
        sorm=StepScorer.from_pretrained(sorm),
        global_refiner=Engine(generation, global_refiner),
        local_refiner=Engine(generation, local_refiner),
        threshold=threshold,
        max_new_tokens=max_new_tokens,
    )
    return {**refine_file(refinery, input_path=input_path, output_path=output_path, batch_size=batch_size),
            "dtype": ",".join(sorted({refinery.global_refiner.dtype, refinery.local_refiner.dtype}))}
