"""Typed, frozen parameter sections read from params.yaml.

One section per stage (plus the shared `task` and `generator`); unknown keys and
out-of-range values fail before a stage touches any file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from factory import GloreError


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class ShotParams:
    """The worked example of a 1-shot prompt: SVAMP has no reference solutions, so the first
    student data comes from prompting the base model with one example, as in the paper."""

    question: str = (
        "Lena has 3 boxes with 8 pencils in each box. She gives 5 pencils to her brother. "
        "How many pencils does Lena have left?"
    )
    solution: str = (
        "Lena has 3 * 8 = <<3*8=24>>24 pencils.\n"
        "After giving 5 away she has 24 - 5 = <<24-5=19>>19 pencils left.\n"
        "#### 19"
    )

    def __post_init__(self) -> None:
        _require(bool(self.question.strip()), "shot.question must not be empty")
        _require("####" in self.solution, "shot.solution must end with a `#### answer` line")


@dataclass(frozen=True)
class TaskParams:
    """Where questions come from; the arith knobs set the built-in task's difficulty."""

    name: str = "arith"
    seed: int = 0
    n_train: int = 2000
    n_test: int = 200
    min_steps: int = 2
    max_steps: int = 4
    max_operand: int = 40
    max_factor: int = 6
    # Real tasks (gsm8k, svamp) read every row of their source; the knobs above are arith's.
    path: str = ""  # local files instead of the hub; `{split}` stands for train/test
    hub_id: str = ""  # "" = the task's usual dataset (gsm8k: openai/gsm8k, svamp: ChilleD/SVAMP)
    hub_config: str = ""  # the config of hub_id ("" = none)
    bad_rows: str = "fail"  # fail: a bad source row stops the stage; drop: skip it, counted by reason
    shot: ShotParams = field(default_factory=ShotParams)

    def __post_init__(self) -> None:
        _require(self.n_train >= 1 and self.n_test >= 1, "n_train and n_test must be >= 1")
        _require(2 <= self.min_steps <= self.max_steps <= 5, "need 2 <= min_steps <= max_steps <= 5")
        _require(self.max_operand >= 10, "max_operand must be >= 10")
        _require(self.max_factor >= 2, "max_factor must be >= 2")
        _require(self.bad_rows in ("fail", "drop"), "bad_rows must be fail or drop")
        _require(not self.path or "{split}" in self.path, "path must contain {split}, e.g. data/gsm8k/{split}.jsonl")
        _require(not (self.path and self.hub_id), "set path or hub_id, not both")
        _require(not self.hub_config or bool(self.hub_id), "hub_config needs hub_id")


@dataclass(frozen=True)
class GeneratorParams:
    """How text is sampled from a model; `auto` picks vLLM on a GPU when installed, else hf."""

    backend: str = "auto"
    batch_size: int = 64

    def __post_init__(self) -> None:
        _require(self.backend in ("auto", "hf", "vllm"), "backend must be auto, hf or vllm")
        _require(self.batch_size >= 1, "batch_size must be >= 1")


@dataclass(frozen=True)
class BaseParams:
    """The base model: a tiny Llama built from scratch (`source: scratch`) or a saved/hub model."""

    source: str = "scratch"
    seed: int = 0
    vocab_size: int = 384
    hidden_size: int = 128
    intermediate_size: int = 384
    num_layers: int = 2
    num_heads: int = 4
    max_length: int = 384

    def __post_init__(self) -> None:
        _require(self.vocab_size >= 300, "vocab_size must be >= 300 (256 bytes + merges)")
        _require(self.hidden_size % self.num_heads == 0, "hidden_size must divide by num_heads")
        _require(self.num_layers >= 1 and self.max_length >= 32, "need num_layers >= 1, max_length >= 32")


@dataclass(frozen=True)
class TrainingParams:
    """One causal-LM fine-tuning run: cosine schedule from `lr` down to `min_lr`."""

    seed: int = 0
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 32
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup_ratio: float = 0.02
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _require(self.epochs > 0, "epochs must be > 0")
        _require(self.batch_size >= 1, "batch_size must be >= 1")
        _require(0 < self.min_lr <= self.lr, "need 0 < min_lr <= lr")
        _require(0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)")


@dataclass(frozen=True)
class SftParams:
    """Supervised fine-tuning of the student on reference solutions, then a greedy test score."""

    train: TrainingParams = field(default_factory=TrainingParams)
    eval_questions: int = 200
    max_new_tokens: int = 160

    def __post_init__(self) -> None:
        _require(self.eval_questions >= 1, "eval_questions must be >= 1")
        _require(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")


@dataclass(frozen=True)
class SamplingParams:
    """K samples per prompt at a temperature (0 = greedy)."""

    k: int = 4
    temperature: float = 0.8
    top_p: float = 1.0
    max_new_tokens: int = 160
    seed: int = 0

    def __post_init__(self) -> None:
        _require(self.k >= 1, "k must be >= 1")
        _require(self.temperature >= 0, "temperature must be >= 0")
        _require(0 < self.top_p <= 1, "top_p must be in (0, 1]")
        _require(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")


@dataclass(frozen=True)
class RolloutsParams:
    """Student samples per train question: the raw material of every label table."""

    sampling: SamplingParams = field(default_factory=SamplingParams)
    max_questions: int = 0  # 0 = every train question

    def __post_init__(self) -> None:
        _require(self.max_questions >= 0, "max_questions must be >= 0")


@dataclass(frozen=True)
class LabelParams:
    """DuckDB label post-processing."""

    memory_limit: str = "2GB"
    threads: int = 2

    def __post_init__(self) -> None:
        _require(self.threads >= 1, "threads must be >= 1")


@dataclass(frozen=True)
class Params:
    task: TaskParams = field(default_factory=TaskParams)
    generator: GeneratorParams = field(default_factory=GeneratorParams)
    base: BaseParams = field(default_factory=BaseParams)
    sft: SftParams = field(default_factory=SftParams)
    rollouts: RolloutsParams = field(default_factory=RolloutsParams)
    label: LabelParams = field(default_factory=LabelParams)


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


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and check a params file; every problem is a one-line GloreError."""
    path = Path(path)
    if not path.is_file():
        raise GloreError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise GloreError(f"{path}: not valid YAML ({type(error).__name__})") from None
    try:
        return parse_params(raw)
    except ValueError as error:
        raise GloreError(f"{path}: {error}") from None
