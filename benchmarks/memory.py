"""Peak resident memory of `glore rollouts` and `glore label` at two sizes, one 10x the other
(rollouts: 10x the questions, and 10x K).

`rollouts` runs with the scripted student (tests/scripted_generator.py, through
tests/slow_student.py with no delay), so the figure is the stage's own memory (sampling a unit,
flushing its shard, joining the shards, validation) rather than a model's; the stand-in keeps
every question in memory to look up its solution, as the stage keeps the question list. `label`
runs on the synthetic inputs of benchmarks/label.py. Each stage runs as a child process; its
peak RSS comes from wait4.

    python benchmarks/memory.py
    python benchmarks/memory.py --questions 2000 --verifications 100000 --out benchmarks/results/memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from label import make_inputs, run_label

REPO = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=2000, help="train questions of the small rollouts run")
    parser.add_argument("--k", type=int, default=4, help="rollouts.sampling.k")
    parser.add_argument("--batch-size", type=int, default=256, help="generator.batch_size (sequences per unit)")
    parser.add_argument("--verifications", type=int, default=100_000, help="verification rows of the small label run")
    parser.add_argument("--scale", type=int, default=10, help="the large run is this many times the small one")
    parser.add_argument("--out", help="also write the report here as JSON")
    return parser.parse_args()


def child(command: list[str]) -> dict:
    """Run a command to completion: its wall time and peak RSS (wait4 gives the child's own)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return {"wall_s": round(time.perf_counter() - started, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def rollouts_run(folder: Path, *, questions: int, k: int, batch_size: int) -> dict:
    folder.mkdir(parents=True)
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({
        "task": {"name": "arith", "n_train": questions + 10, "n_dev": 10, "n_test": 10},
        "generator": {"backend": "hf", "batch_size": batch_size},
        "rollouts": {"max_questions": questions, "sampling": {"k": k}},
    }))
    table = folder / "questions.parquet"
    child([sys.executable, "-m", "factory.cli", "prepare", "--params", str(params), "--out", str(table),
           "--metrics", str(folder / "prepare.json")])
    (folder / "student").mkdir()  # the scripted student reads no model
    out = folder / "rollouts.parquet"
    result = child([sys.executable, str(REPO / "tests" / "slow_student.py"), str(table), "0", "rollouts",
                    "--params", str(params), "--model", str(folder / "student"), "--questions", str(table),
                    "--out", str(out), "--metrics", str(folder / "rollouts.json")])
    summary = json.loads((folder / "rollouts.json").read_text())
    return {"questions": questions, "k": k, "rollouts": summary["rollouts"], "units": summary["units"],
            "output_mb": round(out.stat().st_size / 2**20, 1), **result}


def label_run(folder: Path, *, verifications: int) -> dict:
    folder.mkdir(parents=True)
    inputs = make_inputs(folder, verifications=verifications, k=8)
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({"verify": {"search": "exhaustive"},
                                      "label": {"memory_limit": "2GB", "threads": 2, "incomplete": "fail"}}))
    result = run_label(folder, params)
    return {"rollouts": inputs["rollouts"], "verifications": inputs["verifications"],
            "verifications_mb": inputs["verifications_mb"], "wall_s": result["wall_s"],
            "peak_rss_mb": result["peak_rss_mb"]}


def main() -> None:
    args = parse_args()
    report: dict = {"cpus": os.cpu_count(), "scale": args.scale}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        # the small run, then 10x the questions, then 10x the samples per question
        sizes = [(args.questions, args.k), (args.questions * args.scale, args.k), (args.questions, args.k * args.scale)]
        report["rollouts"] = [
            rollouts_run(folder / f"rollouts{n}x{k}", questions=n, k=k, batch_size=args.batch_size) for n, k in sizes
        ]
        report["label"] = [label_run(folder / f"label{n}", verifications=n)
                           for n in (args.verifications, args.verifications * args.scale)]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
