"""`glore`: one command per DVC stage, plus inspection.

Each command is a thin wrapper: it reads params.yaml, calls the stage function with
keyword arguments, writes the stage's summary as metrics and prints it. Errors the user
can fix print as one line (`--debug` shows the traceback).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from factory import GloreError, first_line

app = typer.Typer(
    help="GLoRe dataset factory: student rollouts -> ORM / SORM labels -> refinement data.\n\n"
    "Run the whole pipeline with `dvc repro`; each stage is also a command here.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
state = {"debug": False}

ParamsOption = Annotated[Path, typer.Option("--params", help="Params file with one section per stage.")]
MetricsOption = Annotated[Path, typer.Option(help="Where the stage's summary (JSON) is written.")]


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    state["debug"] = debug


def run_stage(name: str, stage: Callable[[], dict], metrics: Path | None) -> None:
    """Run a stage; write and print its summary, or print a one-line error and exit 1."""
    from factory.tables import write_json

    started = time.perf_counter()
    try:
        summary = {"stage": name, **stage(), "wall_seconds": round(time.perf_counter() - started, 1)}
        if metrics is not None:
            write_json(summary, metrics)
    # OSError too: a missing, unreadable or full disk is the user's to fix, like bad input
    except (GloreError, ValueError, OSError) as error:
        if state["debug"]:
            raise
        typer.echo(f"error: {name}: {first_line(error)}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(summary, indent=2))


def _params(path: Path):
    from factory.params import load_params

    return load_params(path)


@app.command()
def prepare(
    params: ParamsOption = Path("params.yaml"),
    out: Annotated[Path, typer.Option(help="Questions table to write (Parquet).")] = Path("data/questions.parquet"),
    metrics: MetricsOption = Path("metrics/prepare.json"),
) -> None:
    """Write the questions table (train, dev and test splits) of the task in params `task`."""
    from factory.prepare import prepare as stage

    run_stage("prepare", lambda: stage(_params(params), out=out), metrics)


@app.command()
def base(
    params: ParamsOption = Path("params.yaml"),
    out: Annotated[Path, typer.Option(help="Folder for the base model and tokenizer.")] = Path("models/base"),
    metrics: MetricsOption = Path("metrics/base.json"),
) -> None:
    """Build the base model: a BPE tokenizer and tiny Llama from scratch, or copy `base.source`."""
    from factory.base import base as stage

    run_stage("base", lambda: stage(_params(params), out=out), metrics)


@app.command()
def sft(
    params: ParamsOption = Path("params.yaml"),
    base_model: Annotated[Path, typer.Option(help="Model folder to fine-tune.")] = Path("models/base"),
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Folder for the fine-tuned student.")] = Path("models/sft"),
    metrics: MetricsOption = Path("metrics/sft.json"),
) -> None:
    """Fine-tune the student on reference solutions; report its greedy test accuracy.

    The loss is on the answer tokens only; the schedule is cosine from `sft.train.lr` down to
    `sft.train.min_lr`."""
    from factory.sft import sft as stage

    def go() -> dict:
        loaded = _params(params)
        _need(base_model, questions)
        return stage(loaded, base_model=base_model, questions=questions, out=out)

    run_stage("sft", go, metrics)


@app.command()
def ei(
    params: ParamsOption = Path("params.yaml"),
    base_model: Annotated[Path, typer.Option(help="Base model that every round retrains from.")] = Path(
        "models/base"
    ),
    sft_model: Annotated[Path, typer.Option(help="SFT student that samples the first round.")] = Path("models/sft"),
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Folder for the chosen student policy.")] = Path("models/student"),
    metrics: MetricsOption = Path("metrics/ei.json"),
) -> None:
    """Expert iteration: the student policy that every later stage samples.

    Each round samples K per train question, keeps correct de-duplicated solutions, retrains the
    base model, and stops when dev maj@1 stops improving (or at `ei.max_rounds`)."""
    from factory.ei import ei as stage

    def go() -> dict:
        loaded = _params(params)
        _need(base_model, sft_model, questions)
        return stage(loaded, base_model=base_model, sft_model=sft_model, questions=questions, out=out)

    run_stage("ei", go, metrics)


@app.command()
def rollouts(
    params: ParamsOption = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Student model folder to sample from.")] = Path("models/student"),
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Rollouts table to write (Parquet).")] = Path("data/rollouts.parquet"),
    metrics: MetricsOption = Path("metrics/rollouts.json"),
) -> None:
    """Sample `rollouts.sampling.k` solutions per train question from the student."""
    from factory.rollouts import rollouts as stage

    def go() -> dict:
        loaded = _params(params)
        _need(model, questions)
        return stage(loaded, model=model, questions=questions, out=out)

    run_stage("rollouts", go, metrics)


@app.command()
def verify(
    params: ParamsOption = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Student model folder the verifiers sample from.")] = Path(
        "models/student"
    ),
    rollouts: Annotated[Path, typer.Option(help="Rollouts table (Parquet).")] = Path("data/rollouts.parquet"),
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Verifications table to write (Parquet).")] = Path(
        "data/verifications.parquet"
    ),
    metrics: MetricsOption = Path("metrics/verify.json"),
) -> None:
    """Sample `verify.sampling.k` continuations from every prefix of each incorrect rollout
    (`verify.search`: exhaustive, or backward from the last step until one reaches the answer)."""
    from factory.verify import verify as stage

    def go() -> dict:
        loaded = _params(params)
        _need(model, rollouts, questions)
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
        loaded = _params(params)
        return stage(loaded.label, rollouts=rollouts, verifications=verifications, out_dir=out_dir,
                     value_pairs=loaded.verify.search == "exhaustive")

    run_stage("label", go, metrics)


@app.command()
def drafts(
    params: ParamsOption = Path("params.yaml"),
    model: Annotated[Path, typer.Option(help="Student model folder.")] = Path("models/student"),
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
    out: Annotated[Path, typer.Option(help="Drafts table to write (Parquet).")] = Path("data/drafts.parquet"),
    metrics: MetricsOption = Path("metrics/drafts.json"),
) -> None:
    """Greedy student drafts of the test questions, with step labels from the same verifiers and
    SQL as the SORM training data (and the exact step truth on arith)."""
    from factory.drafts import drafts as stage

    def go() -> dict:
        loaded = _params(params)
        _need(model, questions)
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
        loaded = _params(params)
        folders = Models(**{name: models / name for name in Models.__dataclass_fields__})
        tables = {name: data / f"{name}.parquet" for name in ("questions", "drafts", "rollouts", "sorm_labels")}
        _need(*tables.values(), *vars(folders).values())
        result = stage(loaded, **tables, models=folders)
        write_report(result, task=loaded.task.name, out_dir=out_dir)
        return result

    run_stage("evaluate", go, metrics)


class RewardKind(str, Enum):
    orm = "orm"
    orm_balanced = "orm_balanced"
    sorm = "sorm"


@app.command()
def reward(
    kind: Annotated[RewardKind, typer.Argument(help="Which step classifier: orm, orm_balanced or sorm.")],
    params: ParamsOption = Path("params.yaml"),
    steps: Annotated[
        Optional[Path], typer.Option(help="Step label table (default: data/<kind>_steps.parquet).")
    ] = None,
    rollouts: Annotated[Path, typer.Option(help="Rollouts table (Parquet).")] = Path("data/rollouts.parquet"),
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
    student: Annotated[Path, typer.Option(help="Student the classifier starts from (`reward.init`).")] = Path(
        "models/student"
    ),
    out: Annotated[Optional[Path], typer.Option(help="Model folder (default: models/<kind>).")] = None,
    metrics: Annotated[Optional[Path], typer.Option(help="Summary JSON (default: metrics/reward_<kind>.json).")] = None,
) -> None:
    """Train a step classifier (token-classification head on the student) on a step label table."""
    from factory.reward import STEP_TABLES
    from factory.reward import reward as stage

    name = kind.value
    steps = steps or Path(f"data/{STEP_TABLES[name]}.parquet")

    def go() -> dict:
        loaded = _params(params)
        _need(steps, rollouts, questions)
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
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
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
        loaded = _params(params)
        _need(pairs, questions)
        return stage(loaded, kind=name, pairs=pairs, questions=questions, student=student,
                     out=out or Path(f"models/refiner_{name}"))

    run_stage("refiner", go, metrics or Path(f"metrics/refiner_{name}.json"))


@app.command()
def export(
    kind: Annotated[RewardKind, typer.Argument(help="Which step table: orm, orm_balanced or sorm.")],
    steps: Annotated[
        Optional[Path], typer.Option(help="Step label table (default: data/<kind>_steps.parquet).")
    ] = None,
    rollouts: Annotated[Path, typer.Option(help="Rollouts table (Parquet).")] = Path("data/rollouts.parquet"),
    questions: Annotated[Path, typer.Option(help="Questions table (Parquet).")] = Path("data/questions.parquet"),
    out: Annotated[Optional[Path], typer.Option(help="Parquet file (default: data/export/<kind>_stepwise.parquet).")] = None,
) -> None:
    """Export a step table as `prompt`/`completions`/`labels` rows (stepwise supervision) that
    `datasets.load_dataset("parquet", ...)` and TRL-style PRM trainers read."""
    from factory.export import export as stage
    from factory.reward import STEP_TABLES

    name = kind.value
    steps = steps or Path(f"data/{STEP_TABLES[name]}.parquet")
    out = out or Path(f"data/export/{name}_stepwise.parquet")
    run_stage("export", lambda: stage(kind=name, steps=steps, rollouts=rollouts, questions=questions, out=out), None)


@app.command()
def refine(
    input_path: Annotated[Path, typer.Argument(help='JSONL of {"question", "draft"} (optional "answer").')],
    output: Annotated[Path, typer.Option(help="JSONL to write, one record per draft.")] = Path("refined.jsonl"),
    orm: Annotated[Path, typer.Option(help="ORM folder: decides when, and reranks.")] = Path("models/orm"),
    sorm: Annotated[Path, typer.Option(help="SORM folder: decides where ([BAD] before the first "
                                            "step scored at or below --threshold).")] = Path("models/sorm"),
    global_refiner: Annotated[Path, typer.Option(help="Global refiner folder.")] = Path("models/refiner_global"),
    local_refiner: Annotated[Path, typer.Option(help="Local refiner folder.")] = Path("models/refiner_local"),
    threshold: Annotated[float, typer.Option(help="SORM score at or below which a step is bad.")] = 0.5,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens per refinement at most.")] = 140,
    batch_size: Annotated[int, typer.Option(help="Drafts per batch.")] = 32,
) -> None:
    """Refine drafts from any model: ORM score, SORM step scores, the located bad step, global and
    local refinements, and the answer the ORM picks among draft + refinements, with the reason."""
    from factory.generation import make_generator
    from factory.params import GeneratorParams
    from factory.refine import Refinery, read_drafts, refine_file
    from factory.scoring import StepScorer

    def go() -> dict:
        if not 0.0 <= threshold <= 1.0 or max_new_tokens < 1 or batch_size < 1:
            raise GloreError("need 0 <= --threshold <= 1, --max-new-tokens >= 1 and --batch-size >= 1")
        read_drafts(input_path)  # a bad file fails before any model loads
        _need(orm, sorm, global_refiner, local_refiner)
        generation = GeneratorParams(batch_size=batch_size)  # vLLM where it is installed on a GPU, else hf
        refinery = Refinery(
            orm=StepScorer.from_pretrained(orm),
            sorm=StepScorer.from_pretrained(sorm),
            global_refiner=make_generator(generation, global_refiner),
            local_refiner=make_generator(generation, local_refiner),
            threshold=threshold,
            max_new_tokens=max_new_tokens,
        )
        return refine_file(refinery, input_path=input_path, output_path=output, batch_size=batch_size)

    run_stage("refine", go, None)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run; every table in --data is a view by its name.")],
    data: Annotated[Path, typer.Option(help="Folder of Parquet tables.")] = Path("data"),
    limit: Annotated[int, typer.Option(help="Rows to print at most.")] = 50,
) -> None:
    """Query the factory's tables, e.g. `glore sql "from orm_steps limit 5"`."""
    import duckdb

    connection = duckdb.connect()
    for path in sorted(data.glob("*.parquet")):
        connection.read_parquet(str(path)).create_view(path.stem)
    try:
        relation = connection.sql(query)
    except duckdb.Error as error:
        typer.echo(f"error: sql: {str(error).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    if relation is None:
        return
    relation.limit(limit).show(max_width=200)


@app.command()
def validate(
    table: Annotated[str, typer.Argument(help="Table name: questions, rollouts, verifications, sorm_labels, "
                                              "sorm_steps, orm_steps, orm_balanced_steps, refine_global, "
                                              "refine_local, refine_value or drafts.")],
    path: Annotated[Optional[Path], typer.Option(help="Parquet file (default: data/<table>.parquet).")] = None,
    rollouts: Annotated[Path, typer.Option(help="Rollouts the pair and balanced tables are checked against.")] = Path(
        "data/rollouts.parquet"
    ),
    verifications: Annotated[Path, typer.Option(help="Verifications the local and value pairs are checked "
                                                     "against.")] = Path("data/verifications.parquet"),
) -> None:
    """Run a table's Great Expectations suite on demand. A failure names the table, the
    expectation and a few failing rows by their keys, and exits 1."""
    from factory.tables import SCHEMAS
    from factory.validation import validate_path

    def go() -> dict:
        if table not in SCHEMAS:
            raise GloreError(f"no table {table!r}; tables: {', '.join(SCHEMAS)}")
        where = path or Path(f"data/{table}.parquet")
        rows = validate_path(table, where, inputs={"rollouts": rollouts, "verifications": verifications})
        return {"table": table, "path": str(where), "rows": rows, "valid": True}

    run_stage("validate", go, None)


def _need(*paths: Path) -> None:
    for path in paths:
        if not path.exists():
            raise GloreError(f"{path}: input not found")


if __name__ == "__main__":
    sys.exit(app())
