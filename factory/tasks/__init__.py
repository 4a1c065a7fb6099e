"""Question sources with answer checking and step parsing: one interface for every task."""

from __future__ import annotations

from factory import GloreError
from factory.params import TaskParams
from factory.tasks.arith import ArithTask
from factory.tasks.gsm8k import Gsm8kTask
from factory.tasks.svamp import SvampTask
from factory.tasks.task import Task

__all__ = ["Task", "get_task"]


TASKS: dict[str, type[Task]] = {"arith": ArithTask, "gsm8k": Gsm8kTask, "svamp": SvampTask}


def get_task(name: str, params: TaskParams | None = None) -> Task:
    """The task called `name`, configured by the `task` params section."""
    if name not in TASKS:
        raise GloreError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name](params or TaskParams(name=name))
