"""`drafts` stage: the paper's (Q, D) test set.

Greedy student solutions to the test questions, each step labelled by the same verifying
procedure and the same SQL as the SORM's training data (sorm_labels.sql), and, where the task
knows its computation (arith), by the exact prefix truth as well.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from factory.catalogue import LABEL_INTERMEDIATES, SCHEMAS
from factory.duck import connect, copy_intermediates, run_sql
from factory.generation import Generator, make_generator
from factory.params import Params, SamplingParams
from factory.prompts import chat_tokenizer
from factory.sampling import chunk_seed, chunked, sample_chunk, summarise_file
from factory.shards import Shards, fingerprint
from factory.tables import read_table
from factory.tasks import Task, get_task
from factory.verifiers import generator_sampler, verify_rollouts


def verifier_labels(rollouts: pa.Table, verifications: list[dict], params: Params) -> dict[str, list[int]]:
    """{rollout_id: step labels} from sql/sorm_labels.sql, exactly as for training rollouts."""
    with tempfile.TemporaryDirectory() as folder:
        rollouts_path, verifications_path = Path(folder) / "rollouts.parquet", Path(folder) / "verifications.parquet"
        pq.write_table(rollouts, rollouts_path)
        pq.write_table(pa.Table.from_pylist(verifications, schema=SCHEMAS["verifications"]), verifications_path)
        connection = connect(memory_limit=params.label.memory_limit, threads=params.label.threads,
                             temp_directory=Path(folder) / "spill")
        parameters = {"rollouts": str(rollouts_path), "verifications": str(verifications_path), "incomplete": "fail"}
        copy_intermediates(connection, LABEL_INTERMEDIATES, parameters, Path(folder))
        labels = run_sql(connection, "sorm_labels", parameters).to_pylist()
    by_rollout: dict[str, list[int]] = {}
    for row in labels:  # ordered by rollout_id, step
        by_rollout.setdefault(row["rollout_id"], []).append(row["label"])
    return by_rollout


def drafts(params: Params, *, model: Path, questions: Path, out: Path) -> dict:
    """Draft and label the test questions a unit (one generator batch of questions) at a time,
    each unit flushed to a shard, so a killed run resumes at its first unfinished unit."""
    task = get_task(params.task.name, params.task)
    test = [q for q in read_table("questions", questions).to_pylist() if q["split"] == "test"]
    if params.drafts.max_questions:
        test = test[: params.drafts.max_questions]
    shards = Shards("drafts", out, fingerprint(task=params.task, generator=params.generator, drafts=params.drafts,
                                               verify=params.verify, model=model, questions=questions))
    resumed = len(shards.done)
    generator = cache(lambda: make_generator(params.generator, model))
    greedy = SamplingParams(k=1, temperature=0.0, max_new_tokens=params.drafts.max_new_tokens)
    tokenizer = chat_tokenizer(model)
    units = []
    with tqdm(total=len(test), desc="drafts", unit="question") as progress:
        for index, chunk in enumerate(chunked(test, params.generator.batch_size)):
            unit = f"{index:06d}"
            units.append(unit)
            if unit not in shards:
                table, verifier_tokens = draft_chunk(generator(), task, chunk, params, greedy=greedy,
                                                     seed=chunk_seed(greedy, index), tokenizer=tokenizer)
                shards.add(unit, table, verifier_tokens=verifier_tokens)
            progress.update(len(chunk))
    verifier_tokens = shards.stats().get("verifier_tokens", 0)
    shards.finish(units)
    drafted = summarise_file(out)
    return {
        "drafts": drafted["rollouts"],
        "maj1": drafted["correct_share"],
        "verifier_tokens": verifier_tokens,
        "draft_tokens": drafted["generated_tokens"],
        "resumed_units": resumed,
        "units": len(units),
    }


def draft_chunk(generator: Generator, task: Task, chunk: Sequence[dict], params: Params, *,
                greedy: SamplingParams, seed: int, tokenizer: object | None) -> tuple[pa.Table, int]:
    """The drafts table of `chunk` and the tokens its verifiers generated."""
    rollouts = sample_chunk(generator, task, chunk, greedy, seed=seed, tokenizer=tokenizer)
    by_id = {q["question_id"]: q for q in chunk}
    incorrect = [r for r in rollouts.to_pylist() if not r["is_correct"]]
    verifications = verify_rollouts(generator_sampler(generator, params.verify.sampling), task, incorrect, by_id,
                                    params.verify, batch_size=params.generator.batch_size, tokenizer=tokenizer,
                                    progress_bar=False)
    labels = verifier_labels(rollouts, verifications, params)
    exact = getattr(task, "prefix_validity", None)
    rows = [
        {
            "question_id": r["question_id"],
            "draft": r["steps"],
            "final_answer": r["final_answer"],
            "is_correct": r["is_correct"],
            "step_labels": labels.get(r["rollout_id"], []),
            "exact_labels": exact(by_id[r["question_id"]]["question"], by_id[r["question_id"]]["solution"], r["steps"])
            if exact
            else None,
            "n_tokens": r["n_tokens"],
        }
        for r in rollouts.to_pylist()
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMAS["drafts"]), sum(v["n_tokens"] for v in verifications)
