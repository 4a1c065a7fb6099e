"""Reading params.yaml into the typed sections of factory.params: unknown keys, wrong types and
duplicate keys fail with the key's dotted name, as one line."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

import yaml

from factory import GloreError, first_line
from factory.params import Params


def _coerce(value: object, kind: object, where: str) -> object:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, where)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(kind):
            return None
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if kind is float and isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return float(value)  # YAML reads `2e-5` (no dot) as a string
        except ValueError:
            pass
    if kind is bool and not isinstance(value, bool):
        raise ValueError(f"{where}: expected true/false, got {value!r}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{where}: expected an integer, got {value!r}")
    if kind is int and where.endswith("seed") and not 0 <= value < 2**32:
        raise ValueError(f"{where}: a seed must be in [0, 2^32), got {value}")  # what torch and vLLM take
    if kind in (float, str) and not isinstance(value, kind):
        raise ValueError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _build(cls: type, raw: object, where: str) -> object:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"{where or 'params'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{where or 'params'}: unknown key(s) {', '.join(map(str, unknown))}")
    values = {
        key: _coerce(value, hints[key], f"{where}.{key}" if where else key) for key, value in raw.items()
    }
    try:
        return cls(**values)
    except ValueError as error:
        if where and not str(error).startswith(where):
            raise ValueError(f"{where}: {error}") from None
        raise


def parse_params(raw: object) -> Params:
    return _build(Params, raw, "")  # type: ignore[return-value]


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, except that a key given twice in one mapping is an error: YAML would keep
    the last silently, so an edit above a forgotten duplicate would do nothing."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and check a params file; every problem is a one-line GloreError."""
    path = Path(path)
    if not path.is_file():
        raise GloreError(f"{path}: params file not found")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or first_line(error)
        raise GloreError(f"{path}: not valid YAML{where} ({problem})") from None
    if raw is None:
        raise GloreError(f"{path}: params file is empty")
    try:
        return parse_params(raw)
    except ValueError as error:
        raise GloreError(f"{path}: {error}") from None
