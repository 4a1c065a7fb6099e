from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from factory import GloreError
from factory.params import Params
from factory.params_file import load_params, parse_params


def test_repository_params_file_parses():
    params = load_params(Path(__file__).parent.parent / "params.yaml")
    assert params.task.name == "arith"


def test_scientific_notation_without_dot_reads_as_float():
    assert parse_params({"sft": {"train": {"lr": "2e-5", "min_lr": "2e-7"}}}).sft.train.lr == 2e-5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"rollouts": {"sampling": {"kk": 3}}}, "rollouts.sampling: unknown key"),
        ({"nonsense": {}}, "unknown key"),
        ({"rollouts": {"sampling": {"k": 0}}}, "k must be >= 1"),
        ({"rollouts": {"sampling": {"temperature": -1.0}}}, "temperature must be >= 0"),
        ({"rollouts": {"sampling": {"k": "four"}}}, "expected an integer"),
        ({"sft": {"train": {"lr": 1.0e-6, "min_lr": 1.0e-3}}}, "min_lr"),
        ({"task": []}, "expected a mapping"),
    ],
)
def test_bad_values_fail_with_their_location(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_params(raw)


def test_load_params_errors_are_one_line(tmp_path):
    with pytest.raises(GloreError, match="not found"):
        load_params(tmp_path / "missing.yaml")
    bad = tmp_path / "params.yaml"
    bad.write_text("rollouts:\n  sampling:\n    k: -2\n")
    with pytest.raises(GloreError) as error:
        load_params(bad)
    assert "\n" not in str(error.value) and "rollouts.sampling" in str(error.value)


def _knobs(section: object, raw: object, path: str = "") -> list[str]:
    """Dotted names of the knobs of `section` that the YAML mapping `raw` does not set."""
    missing = []
    for knob in dataclasses.fields(section):
        name = f"{path}{knob.name}"
        if not (isinstance(raw, dict) and knob.name in raw):
            missing.append(name)
        elif dataclasses.is_dataclass(value := getattr(section, knob.name)):
            missing += _knobs(value, raw[knob.name], f"{name}.")
    return missing


def test_params_file_holds_every_knob_at_the_code_defaults():
    # one source of defaults: a section left out of a params file means what params.yaml says
    path = Path(__file__).parent.parent / "params.yaml"
    assert _knobs(Params(), yaml.safe_load(path.read_text())) == []
    assert load_params(path) == Params()
