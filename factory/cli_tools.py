"""`glore` commands that use what the pipeline made: refine drafts from any model, query and
validate the tables, export step tables for other trainers."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from factory import GloreError, first_line
from factory.catalogue import STEP_TABLES, TABLES
from factory.cli_base import (
    ParamsOption, QuestionsOption, RewardKind, RolloutsOption, StepsOption, app, read_params, require_paths, run_stage,
    state,
)


ExportKind = Enum("ExportKind", {kind.name: kind.value for kind in RewardKind} | {"processbench": "processbench"},
                  type=str)


@app.command(rich_help_panel="Using what the pipeline made")
def export(
    kind: Annotated[ExportKind, typer.Argument(help="orm, orm_balanced or sorm: that step table; processbench: "
                                                    "the test drafts with their exact first-error index.")],
    steps: StepsOption = None,
    rollouts: RolloutsOption = Path("data/rollouts.parquet"),
    questions: QuestionsOption = Path("data/questions.parquet"),
    drafts: Annotated[Path, typer.Option(help="Drafts table, for processbench (Parquet).")] = Path(
        "data/drafts.parquet"),
    out: Annotated[Optional[Path], typer.Option(help="File to write (default: data/export/<kind>_stepwise.parquet, "
                                                     "or data/export/processbench.jsonl).")] = None,
) -> None:
    """Export a step table as `prompt`/`completions`/`labels` rows (stepwise supervision) that
    `datasets.load_dataset("parquet", ...)` and TRL-style PRM trainers read; or the test drafts
    in ProcessBench's format (JSONL), for `glore processbench` and anyone's PRM."""
    from factory.export import export as stage
    from factory.export import export_processbench

    name = kind.value
    if name == "processbench":
        target = out or Path("data/export/processbench.jsonl")
        run_stage("export", lambda: export_processbench(drafts=drafts, questions=questions, out=target), None)
        return
    steps = steps or Path(f"data/{STEP_TABLES[name]}.parquet")
    out = out or Path(f"data/export/{name}_stepwise.parquet")
    run_stage("export", lambda: stage(kind=name, steps=steps, rollouts=rollouts, questions=questions, out=out), None)


@app.command("refine-drafts", rich_help_panel="Using what the pipeline made")
def refine_drafts_file(
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
    backend: Annotated[str, typer.Option(help="Generator: auto (vLLM when installed on a GPU), hf or vllm.")] = "auto",
    dtype: Annotated[str, typer.Option(help="Refiners' precision: auto, float32, float16 or bfloat16.")] = "auto",
    gpu_memory_utilization: Annotated[float, typer.Option(
        help="vLLM: share of the GPU a refiner engine may take (capped at what the scorers leave free).")] = 0.9,
    tensor_parallel_size: Annotated[int, typer.Option(help="vLLM: GPUs one refiner engine spans.")] = 1,
    enforce_eager: Annotated[bool, typer.Option(help="vLLM: skip CUDA-graph capture (faster start).")] = False,
) -> None:
    """Refine drafts from any model: ORM score, SORM step scores, the located bad step, global and
    local refinements, and the answer the ORM picks among draft + refinements, with the reason.
    A draft too long for a refiner gets "error" in its row instead; the others are refined.
    One refiner engine runs at a time: all global refinements, then all local ones."""
    from factory.params import GeneratorParams
    from factory.refinery import refine_drafts

    def go() -> dict:
        generator = GeneratorParams(backend=backend, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                                    tensor_parallel_size=tensor_parallel_size, enforce_eager=enforce_eager)
        summary = refine_drafts(input_path, output, orm=orm, sorm=sorm, global_refiner=global_refiner,
                                local_refiner=local_refiner, threshold=threshold, max_new_tokens=max_new_tokens,
                                batch_size=batch_size, generator=generator)
        lines = ", ".join(map(str, summary["error_lines"]))
        typer.echo(f"refine-drafts: {summary['refined']} of {summary['drafts']} drafts refined"
                   + (f'; not line(s) {lines}: "error" in their rows says why' if lines else ""), err=True)
        return summary

    run_stage("refine-drafts", go, None)


@app.command(rich_help_panel="Using what the pipeline made")
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run; every table in --data is a view by its name.")],
    data: Annotated[Path, typer.Option(help="Folder of Parquet tables.")] = Path("data"),
    limit: Annotated[int, typer.Option(help="Rows to print at most.")] = 50,
) -> None:
    """Query the factory's tables, e.g. `glore sql "from orm_steps limit 5"`. One read-only
    SELECT that sees only the Parquet files in --data; it cannot write or read anything else."""
    from factory.query import run_query

    try:
        table = run_query(query, data=data, limit=limit)
    except (GloreError, OSError) as error:  # OSError: an unreadable data folder is the user's to fix
        if state["debug"]:
            raise
        typer.echo(f"error: sql: {first_line(error)}", err=True)
        raise typer.Exit(1) from None
    typer.echo(table, nl=False)


@app.command(rich_help_panel="Using what the pipeline made")
def validate(
    table: Annotated[str, typer.Argument(help=f"Table name: {', '.join(TABLES)}.")],
    path: Annotated[Optional[Path], typer.Option(help="Parquet file (default: data/<table>.parquet).")] = None,
    rollouts: Annotated[Path, typer.Option(help="Rollouts the pair and balanced tables are checked against.")] = Path(
        "data/rollouts.parquet"
    ),
    verifications: Annotated[Path, typer.Option(help="Verifications the local and value pairs are checked "
                                                     "against.")] = Path("data/verifications.parquet"),
) -> None:
    """Run a table's Great Expectations suite on demand. A failure names the table, the
    expectation and a few failing rows by their keys, and exits 1."""
    from factory.tables import validate_path

    def go() -> dict:
        if table not in TABLES:
            raise GloreError(f"no table {table!r}; tables: {', '.join(TABLES)}")
        where = path or Path(f"data/{table}.parquet")
        rows = validate_path(table, where, inputs={"rollouts": rollouts, "verifications": verifications})
        return {"table": table, "path": str(where), "rows": rows, "valid": True}

    run_stage("validate", go, None)


@app.command("import-steps", rich_help_panel="Beyond the paper: PRMs and ProcessBench")
def import_steps(
    source: Annotated[str, typer.Argument(help="Local .jsonl/.json/.parquet file, or a hub dataset id.")],
    out: Annotated[Path, typer.Option(help="Step table to write, e.g. data/<name>.parquet.")],
    split: Annotated[str, typer.Option(help="Hub split to read.")] = "train",
    config: Annotated[Optional[str], typer.Option(help="Hub dataset config.")] = None,
    threshold: Annotated[float, typer.Option(help="Hard label 1 where the soft label is above this (0: any "
                                                  "verifier succeeded, the SORM rule).")] = 0.5,
    bad_rows: Annotated[str, typer.Option(help="fail: a bad row stops the import, named; drop: skip it, "
                                               "counted by reason.")] = "fail",
    tag: Annotated[str, typer.Option(help="Math-Shepherd layout: the tag after each step.")] = "ки",
    first_step: Annotated[str, typer.Option(help="Math-Shepherd layout: where the first step begins.")] = "Step 1:",
) -> None:
    """Import stepwise supervision (prompt/completions/labels, or Math-Shepherd's input/label) as
    a validated `imported_steps` table: question, steps, soft labels and hard labels."""
    from factory.step_import import import_steps as stage

    run_stage("import-steps", lambda: stage(source, out=out, split=split, config=config, threshold=threshold,
                                            bad_rows=bad_rows, tag=tag, first_step=first_step), None)


@app.command("train-prm", rich_help_panel="Beyond the paper: PRMs and ProcessBench")
def train_prm(
    data: Annotated[Path, typer.Option(help="Step table from `glore import-steps` (Parquet).")],
    init: Annotated[str, typer.Option(help="Model folder or hub id the classifier starts from.")],
    out: Annotated[Path, typer.Option(help="Folder for the model, tokenizer, curve and params.")],
    params: ParamsOption = Path("params.yaml"),
    last_step_only: Annotated[bool, typer.Option(help="Train on the final step only (an ORM).")] = False,
    metrics: Annotated[Optional[Path], typer.Option(help="Summary JSON to write too.")] = None,
) -> None:
    """Train a PRM: the `reward` stage's step classifier with its params (`reward.train`,
    `reward.holdout_share`). Labels cut by the model's context are counted and reported."""
    from factory.prm import train_prm as stage

    def go() -> dict:
        loaded = read_params(params)
        require_paths(data)
        summary = stage(data=data, init=init, out=out, params=loaded.reward.train,
                        holdout_share=loaded.reward.holdout_share, last_step_only=last_step_only)
        if summary["labels_cut_by_truncation"]:
            typer.echo(f"train-prm: {summary['labels_cut_by_truncation']} labels past the model's context "
                       "were not trained on", err=True)
        return summary

    run_stage("train-prm", go, metrics)


@app.command(rich_help_panel="Beyond the paper: PRMs and ProcessBench")
def processbench(
    model: Annotated[Path, typer.Option(help="Step classifier folder (two labels, 1 = correct).")],
    data: Annotated[str, typer.Option(help="ProcessBench-format .json/.jsonl file (a path may hold {split}), "
                                           "or a hub id.")] = "Qwen/ProcessBench",
    split: Annotated[str, typer.Option(help="Subsets, comma-separated (hub or {split} paths).")] = (
        "gsm8k,math,olympiadbench,omnimath"),
    output: Annotated[Path, typer.Option(help="JSON to write: measures per subset and predictions.")] = Path(
        "metrics/processbench.json"),
    threshold: Annotated[float, typer.Option(help="A step scored at or below this is the predicted error.")] = 0.5,
    batch_size: Annotated[int, typer.Option(help="Solutions per batch.")] = 32,
) -> None:
    """Score a step classifier on ProcessBench: per subset, accuracy on erroneous and on correct
    samples, their F1, and the threshold-free step AUC."""
    from factory.processbench_scoring import processbench as stage
    from factory.tables import require_writable, write_json

    def go() -> dict:
        require_paths(model)
        require_writable(output)  # before the scoring, not after it
        result = stage(model=model, data=data, subsets=[s.strip() for s in split.split(",") if s.strip()],
                       threshold=threshold, batch_size=batch_size)
        write_json(result, output)
        return {"output": str(output), "average_f1": result["average_f1"], "subsets": result["subsets"]}

    run_stage("processbench", go, None)
