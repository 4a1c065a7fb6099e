"""Wall time and peak memory of `glore label`, of the bare SQL it runs, and of its validation,
on synthetic rollouts and verifications.

The inputs are made by DuckDB from hashes of row numbers, so a size always gives the same
files: 8 rollouts per question, about half of them correct, 2-5 steps each; every step i < L
of an incorrect rollout has K verifiers (an exhaustive search), about a quarter of them correct
and most of those using the step's result. Three things then run as child processes, in turns,
several times each, with the same DuckDB threads and memory limit:

- `glore label`: the stage as a user runs it (imports, input and output suites, the writes);
- bare SQL: the label stage's own SQL files (sql/step_verdicts.sql, then one per label table)
  run with DuckDB into Parquet (its COPY), nothing validated;
- validation: the suites alone (inputs and the label tables `glore label` wrote), in DuckDB.

The report gives, for each, the median wall time, the median CPU time and the peak resident
memory of the child, and the ratio of `glore label` to the bare SQL. Last, `glore label` runs
on verifications with one row planted twice, and must fail naming the expectation and the key.

    python benchmarks/label.py --verifications 1000000
    python benchmarks/label.py --verifications 10000000 --runs 3

Timings on a shared machine are noisy: the medians of several runs are the figures to quote,
with the CPU time beside them and the load average, which says how much else was running.
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
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (the medians are reported)")
    parser.add_argument("--memory-limit", default="2GB", help="label.memory_limit (DuckDB)")
    parser.add_argument("--threads", type=int, default=2, help="label.threads (DuckDB)")
    parser.add_argument("--keep", help="folder for the inputs and outputs (default: a temporary one)")
    parser.add_argument("--out", help="where the report goes as JSON (default: benchmarks/results/label-<size>.json)")
    parser.add_argument("--no-plant", action="store_true", help="skip the run on a planted violation")
    parser.add_argument("--child", choices=["bare", "validate"], help=argparse.SUPPRESS)  # what a child runs
    parser.add_argument("--folder", help=argparse.SUPPRESS)
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


def timed(command: list[str], *, fails: bool = False) -> dict:
    """One child process: wall time, CPU time (all threads) and peak RSS, and its last error
    line. `fails`: it is meant to exit with an error."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    errors = child.stderr.read()
    # wait4 gives this child's own resource use, peak RSS included (in KiB on Linux)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if (code != 0) != fails:
        raise SystemExit(f"{' '.join(command[:4])}... exited {code}: {errors[-2000:]}")
    lines = [line for line in errors.splitlines() if line.startswith("error:")]
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), **({"error": lines[-1]} if lines else {})}


def glore_label(folder: Path, verifications: Path, out: str, *, fails: bool = False) -> list[str]:
    return [sys.executable, "-m", "factory.cli", "label", "--params", str(folder / "params.yaml"),
            "--rollouts", str(folder / "rollouts.parquet"), "--verifications", str(verifications),
            "--out", str(folder / out), "--metrics", str(folder / f"{out}.json")]


def child(task: str, folder: Path) -> list[str]:
    return [sys.executable, __file__, "--child", task, "--folder", str(folder)]


def run_child(args: argparse.Namespace) -> None:
    """In a child process: the bare SQL, or the validation alone, on the files in --folder."""
    from contextlib import closing

    from factory.catalogue import LABEL_INTERMEDIATES, LABEL_TABLES
    from factory.duck import connect, copy_intermediates, copy_sql
    from factory.expectations import validate_file
    from factory.label import sql_parameters
    from factory.params_file import load_params

    folder = Path(args.folder)
    # the params glore label is given, so that all three run the same queries with the same DuckDB
    params = load_params(folder / "params.yaml").label
    parameters = sql_parameters(params, rollouts=folder / "rollouts.parquet",
                                verifications=folder / "verifications.parquet", value_pairs=True)
    with closing(connect(memory_limit=params.memory_limit, threads=params.threads,
                         temp_directory=folder / "spill")) as connection:
        if args.child == "bare":
            (folder / "bare").mkdir(exist_ok=True)
            copy_intermediates(connection, LABEL_INTERMEDIATES, parameters, folder / "bare")
            for name in LABEL_TABLES:
                parameters[name] = str(folder / "bare" / f"{name}.parquet")
                copy_sql(connection, name, parameters, parameters[name])
            return
        for name in ("rollouts", "verifications"):
            validate_file(name, parameters[name], cursor=connection.cursor())
        inputs = {"rollouts": parameters["rollouts"], "verifications": parameters["verifications"]}
        for name in LABEL_TABLES:
            validate_file(name, folder / "out" / f"{name}.parquet", inputs=inputs, cursor=connection.cursor())


def plant(folder: Path) -> dict:
    """Verifications with their first row (by key) twice, and what `glore label` says of them."""
    import duckdb

    planted = folder / "planted.parquet"
    connection = duckdb.connect(config={"threads": 2, "memory_limit": "2GB", "temp_directory": str(folder / "spill")})
    source = str(folder / "verifications.parquet")
    first = connection.execute("select rollout_id, step, verifier_idx from read_parquet($source) "
                               "order by all limit 1", {"source": source}).fetchall()[0]
    connection.execute("copy (select * from read_parquet($source) union all (select * from read_parquet($source) "
                       "order by rollout_id, step, verifier_idx limit 1)) to $path (format parquet)",
                       {"source": source, "path": str(planted)})
    key = f"(rollout_id={first[0]!r}, step={first[1]}, verifier_idx={first[2]})"
    run = timed(glore_label(folder, planted, "planted_out"), fails=True)
    named = "expect_compound_columns_to_be_unique" in run.get("error", "") and key in run.get("error", "")
    return {"planted": f"verification {key} twice", "named_rule_and_key": named, **run,
            "nothing_written": not (folder / "planted_out").exists()}


def summary(runs: list[dict]) -> dict:
    return {"wall_s_median": statistics.median(run["wall_s"] for run in runs),
            "cpu_s_median": statistics.median(run["cpu_s"] for run in runs),
            "peak_rss_mb_max": max(run["peak_rss_mb"] for run in runs), "runs": runs}


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        report = {"inputs": make_inputs(folder, verifications=args.verifications, k=args.k),
                  "cpus": os.cpu_count(), "memory_limit": args.memory_limit, "threads": args.threads,
                  "load_average_before": round(os.getloadavg()[0], 2)}
        (folder / "params.yaml").write_text(yaml.safe_dump({
            "verify": {"search": "exhaustive"},
            "label": {"memory_limit": args.memory_limit, "threads": args.threads, "incomplete": "fail"},
        }))
        commands = {"glore_label": glore_label(folder, folder / "verifications.parquet", "out"),
                    "bare_sql": child("bare", folder), "validation": child("validate", folder)}
        runs: dict[str, list[dict]] = {name: [] for name in commands}
        for _ in range(args.runs):  # in turns, so that a change in the machine's load hits all three
            for name, command in commands.items():
                runs[name].append(timed(command))
                print(name, json.dumps(runs[name][-1]), file=sys.stderr, flush=True)
        for name in commands:
            report[name] = summary(runs[name])
        rows = json.loads((folder / "out.json").read_text())
        report["rows"] = {name: value["rows"] for name, value in rows.items() if isinstance(value, dict)}
        report["label_over_bare_sql"] = {
            "wall": round(report["glore_label"]["wall_s_median"] / report["bare_sql"]["wall_s_median"], 2),
            "cpu": round(report["glore_label"]["cpu_s_median"] / report["bare_sql"]["cpu_s_median"], 2)}
        if not args.no_plant:
            report["planted_violation"] = plant(folder)
        report["load_average_after"] = round(os.getloadavg()[0], 2)  # other work on the machine
    text = json.dumps(report, indent=2)
    print(text)
    size = f"{args.verifications // 1_000_000}m" if args.verifications >= 1_000_000 else str(args.verifications)
    out = Path(args.out or Path(__file__).resolve().parent / "results" / f"label-{size}.json")
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
