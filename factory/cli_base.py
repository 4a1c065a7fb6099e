"""What every `glore` command shares: the app, the --debug switch, and running a stage so that
its summary is written and printed and an error the user can fix prints as one line."""

from __future__ import annotations

import json
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
QuestionsOption = Annotated[Path, typer.Option(help="Questions table (Parquet).")]
RolloutsOption = Annotated[Path, typer.Option(help="Rollouts table (Parquet).")]
StepsOption = Annotated[Optional[Path], typer.Option(help="Step label table (default: data/<kind>_steps.parquet).")]


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    state["debug"] = debug


def run_stage(name: str, stage: Callable[[], dict], metrics: Path | None) -> None:
    """Run a stage; write and print its summary, or print a one-line error and exit 1."""
    from factory.tables import require_writable, write_json

    started = time.perf_counter()
    try:
        if metrics is not None:
            require_writable(metrics)  # before the stage replaces its outputs: all or nothing
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


def read_params(path: Path):
    from factory.params_file import load_params

    return load_params(path)


def require_paths(*paths: Path) -> None:
    for path in paths:
        if not path.exists():
            raise GloreError(f"{path}: input not found")


class RewardKind(str, Enum):
    orm = "orm"
    orm_balanced = "orm_balanced"
    sorm = "sorm"
