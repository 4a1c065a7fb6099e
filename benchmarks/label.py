"""Wall time and peak memory of `glore label` on synthetic rollouts and verifications.

The inputs are made by DuckDB from hashes of row numbers, so a size always gives the same
files: 8 rollouts per question, about half of them correct, 2-5 steps each; every step i < L
of an incorrect rollout has K verifiers (an exhaustive search), about a quarter of them correct
and most of those using the step's result. `glore label` then runs as a child process, several
times; the report gives the median wall time, the stage's own time (without Python's imports)
and the peak resident memory of the child (DuckDB, Arrow and the Great Expectations suites).

    python benchmarks/label.py --verifications 1000000
    python benchmarks/label.py --verifications 10000000 --runs 3 --out bench-label.json

Timings on a shared machine are noisy: the median of several runs is the figure to quote, with
the CPU time beside it and the load average, which says how much else was running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

STEPS_PER_VERIFIED_ROLLOUT = 2.5  # steps i < L of a rollout of 2-5 steps, on average
ROLLOUTS_PER_QUESTION = 8

ROLLOUTS_SQL = """
copy (
    with numbered as (
        select
            i,
            i // $per_question as question,
            i % $per_question as sample_idx,
            cast(2 + hash('steps:' || i) % 4 as bigint) as n_steps,
            hash('correct:' || i) % 2 = 0 as is_correct
        from range($rollouts) as ids(i)
    )
    select
        printf('q%08d/%d', question, sample_idx) as rollout_id,
        printf('q%08d', question) as question_id,
        cast(sample_idx as integer) as sample_idx,
        list_transform(range(1, n_steps + 1), lambda j: printf(
            'Then she has %d + %d = <<%d+%d=%d>>%d cookies.', j, i % 97, j, i % 97, j + i % 97, j + i % 97
        )) as steps,
        list_transform(range(1, n_steps + 1), lambda j: cast(j + i % 97 as varchar)) as step_results,
        case when is_correct then cast(question % 1000 as varchar) else cast(1000 + i % 7 as varchar) end
            as final_answer,
        is_correct,
        cast(20 * n_steps as integer) as n_tokens
    from numbered
) to $path (format parquet)
"""

VERIFICATIONS_SQL = """
copy (
    with incorrect as (
        select
            rollout_id,
            cast(split_part(question_id, 'q', 2) as bigint) as question,
            step_results,
            len(steps) as n_steps
        from read_parquet($rollouts)
        where not is_correct
    ),
    verifiers as (
        select
            rollout_id,
            question,
            cast(step as integer) as step,
            cast(verifier_idx as integer) as verifier_idx,
            step_results[step] as step_result,
            hash(rollout_id || ':' || step || ':' || verifier_idx) % 100 as draw
        from incorrect,
            unnest(range(1, n_steps)) as prefix(step),
            unnest(range($k)) as verifier(verifier_idx)
    )
    select
        rollout_id,
        step,
        verifier_idx,
        ['So she has ' || step_result || ' cookies left.', 'Each friend gets ' || draw || ' cookies.']
            as continuation,
        case when draw < 18 then [step_result, cast(draw as varchar), cast(question % 1000 as varchar)]
            else [cast(draw as varchar), cast(question % 1000 as varchar)] end as continuation_numbers,
        case when draw < 25 then cast(question % 1000 as varchar) else cast(draw + 1000 as varchar) end
            as final_answer,
        draw < 25 as is_correct,
        cast(30 + draw % 40 as integer) as n_tokens
    from verifiers
) to $path (format parquet)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verifications", type=int, default=1_000_000, help="verification rows, about")
    parser.add_argument("--k", type=int, default=8, help="verifiers per step (the paper's K)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of `glore label` (the median is reported)")
    parser.add_argument("--memory-limit", default="2GB", help="label.memory_limit (DuckDB)")
    parser.add_argument("--threads", type=int, default=2, help="label.threads (DuckDB)")
    parser.add_argument("--keep", help="folder for the inputs and outputs (default: a temporary one)")
    parser.add_argument("--out", help="also write the report here as JSON")
    return parser.parse_args()


def make_inputs(folder: Path, *, verifications: int, k: int) -> dict:
    import duckdb

    incorrect = max(1, round(verifications / (k * STEPS_PER_VERIFIED_ROLLOUT)))
    rollouts = 2 * incorrect  # about half are correct
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(ROLLOUTS_SQL, {"rollouts": rollouts, "per_question": ROLLOUTS_PER_QUESTION,
                                      "path": str(folder / "rollouts.parquet")})
    connection.execute(VERIFICATIONS_SQL, {"rollouts": str(folder / "rollouts.parquet"), "k": k,
                                           "path": str(folder / "verifications.parquet")})
    count = connection.execute("select count(*) from read_parquet($path)",
                               {"path": str(folder / "verifications.parquet")}).fetchone()[0]
    return {"rollouts": rollouts, "verifications": count, "k": k, "build_s": round(time.perf_counter() - started, 1),
            "verifications_mb": round((folder / "verifications.parquet").stat().st_size / 2**20, 1)}


def run_label(folder: Path, params: Path) -> dict:
    """One `glore label` in a child process: wall time, the stage's own time, peak RSS."""
    command = [sys.executable, "-m", "factory.cli", "label", "--params", str(params),
               "--rollouts", str(folder / "rollouts.parquet"), "--verifications", str(folder / "verifications.parquet"),
               "--out", str(folder / "out"), "--metrics", str(folder / "label.json")]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    # wait4 gives this child's own resource use, peak RSS included (in KiB on Linux)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"glore label failed (exit {os.waitstatus_to_exitcode(status)})")
    summary = json.loads((folder / "label.json").read_text())
    return {"wall_s": round(wall, 2), "stage_s": summary["wall_seconds"],
            # CPU time (all threads) moves less than wall time when other work shares the cores
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "rows": {name: value["rows"] for name, value in summary.items() if isinstance(value, dict)}}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        report = {"inputs": make_inputs(folder, verifications=args.verifications, k=args.k),
                  "cpus": os.cpu_count(), "memory_limit": args.memory_limit, "threads": args.threads}
        params = folder / "params.yaml"
        params.write_text(yaml.safe_dump({
            "verify": {"search": "exhaustive"},
            "label": {"memory_limit": args.memory_limit, "threads": args.threads, "incomplete": "fail"},
        }))
        runs = []
        for _ in range(args.runs):
            runs.append(run_label(folder, params))
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
        report["wall_s_median"] = statistics.median(run["wall_s"] for run in runs)
        report["stage_s_median"] = statistics.median(run["stage_s"] for run in runs)
        report["cpu_s_median"] = statistics.median(run["cpu_s"] for run in runs)
        report["load_average_after"] = round(os.getloadavg()[0], 2)  # other work on the machine
        report["peak_rss_mb_max"] = max(run["peak_rss_mb"] for run in runs)
        report["runs"] = runs
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
