"""`glore` commands that use what the pipeline made: refine drafts from any model, query and
validate the tables, export step tables for other trainers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from factory import GloreError, first_line
from factory.catalogue import STEP_TABLES, TABLES
from factory.cli_base import RewardKind, app, run_stage, state


@app.command(rich_help_panel="Using what the pipeline made")
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

    name = kind.value
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
) -> None:
    """Refine drafts from any model: ORM score, SORM step scores, the located bad step, global and
    local refinements, and the answer the ORM picks among draft + refinements, with the reason.
    A draft too long for a refiner gets "error" in its row instead; the others are refined."""
    from factory.refinery import refine_drafts

    def go() -> dict:
        summary = refine_drafts(input_path, output, orm=orm, sorm=sorm, global_refiner=global_refiner,
                                local_refiner=local_refiner, threshold=threshold, max_new_tokens=max_new_tokens,
                                batch_size=batch_size)
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
