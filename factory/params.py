"""Typed, frozen parameter sections, one per stage (plus the shared `task` and `generator`).

Their defaults are params.yaml's values (a test compares them); out-of-range values fail
before a stage touches any file. Reading a params file is factory.params_file's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial


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
    n_train: int = 4000
    n_test: int = 1000
    # the last n_dev train questions become the `dev` split: held out from training, used to
    # decide when expert iteration stops (any task)
    n_dev: int = 100
    min_steps: int = 2
    max_steps: int = 3
    max_operand: int = 30
    max_factor: int = 5
    # Real tasks (gsm8k, svamp) read every row of their source; the knobs above are arith's.
    path: str = ""  # local files instead of the hub; `{split}` stands for train/test
    hub_id: str = ""  # "" = the task's usual dataset (gsm8k: openai/gsm8k, svamp: ChilleD/SVAMP)
    hub_config: str = ""  # the config of hub_id ("" = none)
    bad_rows: str = "fail"  # fail: a bad source row stops the stage; drop: skip it, counted by reason
    shot: ShotParams = field(default_factory=ShotParams)

    def __post_init__(self) -> None:
        _require(self.n_train >= 1 and self.n_test >= 1, "n_train and n_test must be >= 1")
        _require(self.n_dev >= 0, "n_dev must be >= 0")
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
    batch_size: int = 128
    # vllm only. One engine spans tensor_parallel_size x pipeline_parallel_size GPUs (pipeline
    # stages can sit on other nodes with the ray backend); data_parallel_size engines (one
    # process each, on GPUs of their own) split every call's requests between them.
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    data_parallel_size: int = 1
    distributed_executor_backend: str = "auto"  # auto | mp | ray (ray: one engine across nodes)
    gpu_memory_utilization: float = 0.9  # on vLLM's CPU build: the share of RAM it reserves
    dtype: str = "auto"  # auto | float32 | float16 | bfloat16
    enforce_eager: bool = False  # true skips CUDA-graph capture / compilation: faster start
    # Prefixes are cached in whole blocks of this many tokens; 0 = vLLM's default (16 on GPUs,
    # 128 on CPUs, where short prompts would then never share a block).
    block_size: int = 0

    def __post_init__(self) -> None:
        _require(self.backend in ("auto", "hf", "vllm"), "backend must be auto, hf or vllm")
        _require(self.batch_size >= 1, "batch_size must be >= 1")
        _require(self.tensor_parallel_size >= 1, "tensor_parallel_size must be >= 1")
        _require(self.pipeline_parallel_size >= 1, "pipeline_parallel_size must be >= 1")
        _require(self.data_parallel_size >= 1, "data_parallel_size must be >= 1")
        _require(
            self.distributed_executor_backend in ("auto", "mp", "ray"),
            "distributed_executor_backend must be auto, mp or ray",
        )
        _require(0 < self.gpu_memory_utilization <= 1, "gpu_memory_utilization must be in (0, 1]")
        _require(
            self.dtype in ("auto", "float32", "float16", "bfloat16"), "dtype must be auto, float32, float16 or bfloat16"
        )
        _require(self.block_size >= 0, "block_size must be >= 0")


@dataclass(frozen=True)
class TrainingParams:
    """One causal-LM fine-tuning run: cosine schedule from `lr` down to `min_lr`."""

    seed: int = 0
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 32
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_ratio: float = 0.02
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _require(self.epochs > 0, "epochs must be > 0")
        _require(self.batch_size >= 1, "batch_size must be >= 1")
        _require(0 < self.min_lr <= self.lr, "need 0 < min_lr <= lr")
        _require(0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)")


@dataclass(frozen=True)
class PretrainParams:
    """Pretraining of a scratch base on fresh problems of the task (never a train or test
    question), as the paper's Llama-2 has read text like GSM8K's before any fine-tuning."""

    problems: int = 64000  # one epoch over this many generated problems; 0 = no pretraining
    seed: int = 1  # of the problems drawn (the task's own questions use task.seed)
    train: TrainingParams = field(default_factory=partial(TrainingParams, lr=3e-3))

    def __post_init__(self) -> None:
        _require(self.problems >= 0, "problems must be >= 0")


@dataclass(frozen=True)
class BaseParams:
    """The base model: a tiny Llama built from scratch (`source: scratch`) or a saved/hub model."""

    source: str = "scratch"  # or a saved model folder, a hub id or a GGUF file
    pretrain: PretrainParams = field(default_factory=PretrainParams)
    seed: int = 0
    vocab_size: int = 384
    hidden_size: int = 96
    intermediate_size: int = 288
    num_layers: int = 4
    num_heads: int = 4
    max_length: int = 512

    def __post_init__(self) -> None:
        _require(self.vocab_size >= 300, "vocab_size must be >= 300 (256 bytes + merges)")
        _require(self.hidden_size % self.num_heads == 0, "hidden_size must divide by num_heads")
        _require(self.num_layers >= 1 and self.max_length >= 32, "need num_layers >= 1, max_length >= 32")


@dataclass(frozen=True)
class SamplingParams:
    """K samples per prompt at a temperature (0 = greedy)."""

    k: int = 4
    temperature: float = 0.8
    top_p: float = 1.0
    max_new_tokens: int = 140
    seed: int = 0

    def __post_init__(self) -> None:
        _require(self.k >= 1, "k must be >= 1")
        _require(self.temperature >= 0, "temperature must be >= 0")
        _require(0 < self.top_p <= 1, "top_p must be in (0, 1]")
        _require(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")


@dataclass(frozen=True)
class SftParams:
    """Supervised fine-tuning of the student on reference solutions, then a greedy test score."""

    train: TrainingParams = field(default_factory=TrainingParams)
    eval_questions: int = 200
    max_new_tokens: int = 140
    # also score the base model greedily on the same questions: the accuracy SFT starts from (a
    # pretrained chat model has one; the default's base has not been taught the answer format)
    eval_base: bool = False
    # a task without reference solutions (SVAMP) gets its first student data by 1-shot prompting
    # the base model: `bootstrap.k` samples per train question, the correct ones kept
    bootstrap: SamplingParams = field(default_factory=partial(SamplingParams, max_new_tokens=160))

    def __post_init__(self) -> None:
        _require(self.eval_questions >= 1, "eval_questions must be >= 1")
        _require(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")


@dataclass(frozen=True)
class EiParams:
    """Expert iteration: sample, keep correct de-duplicated solutions, retrain the base model."""

    max_rounds: int = 0
    min_improvement: float = 0.0  # stop once dev maj@1 improves by this much or less
    with_reference: bool = True  # train on the reference solutions too (GSM8K), not samples only
    max_questions: int = 500  # train questions sampled per round; 0 = all
    eval_questions: int = 100  # dev questions for maj@1
    sampling: SamplingParams = field(default_factory=partial(SamplingParams, seed=1))
    train: TrainingParams = field(default_factory=TrainingParams)

    def __post_init__(self) -> None:
        _require(self.max_rounds >= 0, "max_rounds must be >= 0")
        _require(self.max_questions >= 0, "max_questions must be >= 0")
        _require(self.eval_questions >= 1, "eval_questions must be >= 1")


@dataclass(frozen=True)
class RolloutsParams:
    """Student samples per train question: the raw material of every label table."""

    sampling: SamplingParams = field(default_factory=partial(SamplingParams, temperature=1.0))
    max_questions: int = 1000  # 0 = every train question

    def __post_init__(self) -> None:
        _require(self.max_questions >= 0, "max_questions must be >= 0")


@dataclass(frozen=True)
class VerifyParams:
    """SORM verifiers: K continuations from each prefix of an incorrect rollout."""

    sampling: SamplingParams = field(default_factory=partial(SamplingParams, max_new_tokens=120))
    # exhaustive: every step, all K (needed for value pairs); backward: from the last step down,
    # stop at the first step with a correct, consistent continuation (same labels, fewer tokens)
    search: str = "exhaustive"
    max_rollouts: int = 500  # incorrect rollouts verified at most; 0 = all

    def __post_init__(self) -> None:
        _require(self.search in ("exhaustive", "backward"), "search must be exhaustive or backward")
        _require(self.max_rollouts >= 0, "max_rollouts must be >= 0")


@dataclass(frozen=True)
class LabelParams:
    """DuckDB label post-processing."""

    memory_limit: str = "2GB"
    threads: int = 2
    seed: int = 0  # balancing and target choices hash rollout ids with it
    # a step whose SORM label cannot be decided (unverified, no later positive): fail, or drop its
    # rollout from the SORM tables and count it
    incomplete: str = "drop"
    max_targets_per_draft: int = 2  # global refinement targets per incorrect rollout

    def __post_init__(self) -> None:
        _require(re.fullmatch(r"\d+(\.\d+)?\s*(K|M|G|T)?i?B", self.memory_limit.strip(), re.IGNORECASE) is not None,
                 f"memory_limit must be a size such as 2GB or 512MiB, not {self.memory_limit!r}")
        _require(self.threads >= 1, "threads must be >= 1")
        _require(self.incomplete in ("fail", "drop"), "incomplete must be fail or drop")
        _require(self.max_targets_per_draft >= 1, "max_targets_per_draft must be >= 1")


@dataclass(frozen=True)
class DraftsParams:
    """The (Q, D) test set: greedy student drafts, labelled by the same verifiers as training data."""

    max_questions: int = 0  # test questions; 0 = all
    max_new_tokens: int = 140

    def __post_init__(self) -> None:
        _require(self.max_questions >= 0, "max_questions must be >= 0")
        _require(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")


@dataclass(frozen=True)
class RewardParams:
    """ORM / balanced ORM / SORM step classifiers (paper, Table 4: 1 epoch, 2e-6 -> 2e-7)."""

    init: str = "student"  # "student", or a named checkpoint folder
    holdout_share: float = 0.1  # questions held out to measure step accuracy
    batch_size: int = 64  # scoring batch
    surprisal: bool = True  # also read the student's surprise at each token (factory/surprisal_classifier.py)
    train: TrainingParams = field(
        default_factory=partial(TrainingParams, epochs=2.0, lr=5e-4, min_lr=5e-5, warmup_ratio=0.05)
    )

    def __post_init__(self) -> None:
        _require(0 <= self.holdout_share < 1, "holdout_share must be in [0, 1)")
        _require(self.batch_size >= 1, "batch_size must be >= 1")


@dataclass(frozen=True)
class RefinerParams:
    """Global, local and value refiners: SFT on refinement pairs, initialised from the student."""

    init: str = "student"  # "student", or a named checkpoint folder
    max_pairs: int = 3000  # 0 = every pair
    train: TrainingParams = field(default_factory=partial(TrainingParams, epochs=4.0, batch_size=8, warmup_ratio=0.05))

    def __post_init__(self) -> None:
        _require(self.max_pairs >= 0, "max_pairs must be >= 0")


@dataclass(frozen=True)
class EvaluateParams:
    """Test-time measures: student samples (Table 5), reward models (Tables 1-2), refinement
    (Figure 3, Table 3), reranking (Figure 4) and reranking heuristics (appendix D)."""

    threshold: float = 0.5  # a step scored at or below this is bad; above, a solution is "correct"
    bo: int = 3  # the best-of-n student baseline for reranked refinements
    max_new_tokens: int = 140
    sampling: SamplingParams = field(default_factory=partial(SamplingParams, temperature=0.5, seed=2))
    bootstrap_resamples: int = 1000  # resamples of the test questions behind each claim's 95% interval
    bootstrap_seed: int = 0

    def __post_init__(self) -> None:
        _require(0 <= self.threshold <= 1, "threshold must be in [0, 1]")
        _require(self.bootstrap_resamples >= 1, "bootstrap_resamples must be >= 1")
        _require(1 <= self.bo <= self.sampling.k, "need 1 <= bo <= sampling.k")
        _require(self.max_new_tokens >= 1, "max_new_tokens must be >= 1")


@dataclass(frozen=True)
class Params:
    task: TaskParams = field(default_factory=TaskParams)
    generator: GeneratorParams = field(default_factory=GeneratorParams)
    base: BaseParams = field(default_factory=BaseParams)
    sft: SftParams = field(default_factory=SftParams)
    ei: EiParams = field(default_factory=EiParams)
    rollouts: RolloutsParams = field(default_factory=RolloutsParams)
    verify: VerifyParams = field(default_factory=VerifyParams)
    label: LabelParams = field(default_factory=LabelParams)
    reward: RewardParams = field(default_factory=RewardParams)
    drafts: DraftsParams = field(default_factory=DraftsParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    refiner: RefinerParams = field(default_factory=RefinerParams)
