"""The module graph: dvc.yaml's code deps derived from the imports (a stage that runs a module
must list it, or `dvc repro` would call data made by old code up to date), no import circles,
no stage module importing another, and no module over 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("factory", "trainers")
# Files a module reads at run time, beside the modules it imports (one or a tuple).
READS = {
    "factory/duck.py": "sql/macros.sql",  # on every connection
    "factory/expectations/__init__.py": "sql/checks",
    "factory/validation.py": "sql/checks",
    "factory/label.py": "sql",
    "factory/drafts.py": ("sql/step_verdicts.sql", "sql/sorm_labels.sql"),
}


def _module_file(name: str) -> str | None:
    path = ROOT.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(ROOT).as_posix()
    return None


def _package_of(file: str) -> str:
    parts = file.removesuffix(".py").split("/")
    return ".".join(parts[:-1])


def _imported(file: str, only_in: str | None = None) -> set[str]:
    """Our modules that `file` imports anywhere (inside functions too: they run); `only_in`
    limits it to one function. `from package import module` names the module alone."""
    tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
    if only_in is not None:
        tree = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == only_in)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(file).split(".")
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names if _module_file(f"{base}.{alias.name}")}
            names.update(submodules or {base})
    return {module for name in names if name.split(".")[0] in PACKAGES and (module := _module_file(name))}


def _packages_above(file: str) -> set[str]:
    """The `__init__` files that run before `file` does."""
    parts = file.split("/")[:-1]
    return {init for end in range(1, len(parts) + 1) if (ROOT / (init := "/".join(parts[:end]) + "/__init__.py")).is_file()}


def _closure(entries: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        file = todo.pop()
        if file not in seen:
            seen.add(file)
            todo.extend((_imported(file) | _packages_above(file)) - seen)
    return seen


def needed_code(stage: str) -> set[str]:
    """Every file of ours the stage runs or reads: its module and what the CLI command imports,
    followed through their imports (cli.py itself only parses options and calls the stage)."""
    entries = {f"factory/{stage}.py"} | (_imported("factory/cli.py", only_in=stage) - {"factory/__init__.py"})
    modules = _closure(entries)
    read = [READS[module] for module in modules if module in READS]
    return modules | {path for paths in read for path in ((paths,) if isinstance(paths, str) else paths)}


def _stages() -> dict[str, list[str]]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: (stage.get("do", stage)).get("deps", []) for name, stage in stages.items()}


def _covers(dep: str, file: str) -> bool:
    return file == dep or file.startswith(dep.rstrip("/") + "/")


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_stage_lists_exactly_the_code_it_runs(stage):
    deps = [dep for dep in _stages()[stage] if dep.split("/")[0] in (*PACKAGES, "sql")]
    needed = needed_code(stage)
    missing = sorted(file for file in needed if not any(_covers(dep, file) for dep in deps))
    unused = sorted(dep for dep in deps if not any(_covers(dep, file) for file in needed))
    assert not missing, f"dvc.yaml stage {stage} misses deps it runs: {missing}"
    assert not unused, f"dvc.yaml stage {stage} lists deps it does not run: {unused}"


def test_closure_follows_imports_inside_functions():
    # base imports its trainer inside a function, so that `glore --help` does not load torch
    assert "trainers/causal_lm.py" in needed_code("base")
    assert "factory/__init__.py" in needed_code("prepare")


def _modules() -> list[str]:
    return sorted(path.relative_to(ROOT).as_posix() for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_module_imports_itself_through_others():
    graph = {module: _imported(module) - {module} for module in _modules()}
    state: dict[str, str] = {}
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for child in sorted(graph[module]):
            if state.get(child) == "open":
                circles.append(path[path.index(child):] + [child])
            elif child not in state:
                visit(child, [*path, child])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_no_stage_module_imports_another_stage():
    stages = {f"factory/{stage}.py" for stage in _stages()}
    crossing = {stage: sorted(_imported(stage) & (stages - {stage})) for stage in sorted(stages)}
    assert {stage: others for stage, others in crossing.items() if others} == {}


def test_modules_stay_small():
    lengths = {module: len((ROOT / module).read_text(encoding="utf-8").splitlines()) for module in _modules()}
    assert {module: lines for module, lines in lengths.items() if lines > 400} == {}
