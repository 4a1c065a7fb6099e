"""Arrow schemas of the factory's tables and their validated, atomic Parquet I/O."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from factory import GloreError

STRINGS = pa.list_(pa.string())
ROW_GROUP_ROWS = 2**18  # rows per row group of a streamed table: at most a few hundred MB of text

# One row per step of a rollout: the SORM label and the verifier counts it came from.
SORM_LABELS = pa.schema(
    [
        ("rollout_id", pa.string()),
        ("step", pa.int32()),
        ("question_id", pa.string()),
        ("label", pa.int8()),
        ("raw_label", pa.int8()),  # null where no verifier ran from this prefix
        ("n_verifiers", pa.int32()),
        ("n_correct", pa.int32()),
        ("n_consistent", pa.int32()),  # correct and using the step's result: the ones that count
    ]
)

# Text of a refinement pair; answers are kept apart from the steps, as in rollouts.
REFINEMENT_PAIR = [
    ("question_id", pa.string()),
    ("draft", STRINGS),
    ("draft_answer", pa.string()),
    ("target", STRINGS),
    ("target_answer", pa.string()),
]

SCHEMAS: dict[str, pa.Schema] = {
    "questions": pa.schema(
        [
            ("question_id", pa.string()),
            ("split", pa.string()),
            ("question", pa.string()),
            ("answer", pa.string()),  # canonical number string
            ("solution", STRINGS),  # reference steps; empty where the source has none
        ]
    ),
    "rollouts": pa.schema(
        [
            ("rollout_id", pa.string()),
            ("question_id", pa.string()),
            ("sample_idx", pa.int32()),
            ("steps", STRINGS),
            ("step_results", STRINGS),  # a step's computed quantity, null where it has none
            ("final_answer", pa.string()),
            ("is_correct", pa.bool_()),
            ("n_tokens", pa.int32()),
        ]
    ),
    "orm_steps": pa.schema(
        [
            ("rollout_id", pa.string()),
            ("step", pa.int32()),
            ("question_id", pa.string()),
            ("label", pa.int8()),
        ]
    ),
    "verifications": pa.schema(
        [
            ("rollout_id", pa.string()),
            ("step", pa.int32()),  # the continuation starts after prefix P_step
            ("verifier_idx", pa.int32()),
            ("continuation", STRINGS),
            ("continuation_numbers", STRINGS),  # every number in it, normalised like step_results
            ("final_answer", pa.string()),
            ("is_correct", pa.bool_()),
            ("n_tokens", pa.int32()),
        ]
    ),
    "sorm_labels": SORM_LABELS,
    "sorm_steps": SORM_LABELS,
    "orm_balanced_steps": pa.schema(
        [
            ("rollout_id", pa.string()),
            ("step", pa.int32()),
            ("question_id", pa.string()),
            ("label", pa.int8()),
        ]
    ),
    "refine_global": pa.schema(
        [
            ("draft_rollout_id", pa.string()),
            ("target_rollout_id", pa.string()),
            *REFINEMENT_PAIR,
        ]
    ),
    "refine_local": pa.schema(
        [
            ("draft_rollout_id", pa.string()),
            ("bad_step", pa.int32()),  # the [BAD] marker goes before this step of the draft
            *REFINEMENT_PAIR,
            ("target_rollout_id", pa.string()),  # where bad_step = 1: the correct rollout used
            ("verifier_idx", pa.int32()),  # where bad_step > 1: the continuation of P_{bad_step-1} used
        ]
    ),
    "refine_value": pa.schema(
        [
            ("draft_rollout_id", pa.string()),
            ("bad_step", pa.int32()),
            *REFINEMENT_PAIR,
            ("verifier_idx", pa.int32()),  # the continuation of P_{bad_step-1} used
        ]
    ),
    "drafts": pa.schema(
        [
            ("question_id", pa.string()),
            ("draft", STRINGS),  # the student's greedy solution to a test question
            ("final_answer", pa.string()),
            ("is_correct", pa.bool_()),
            ("step_labels", pa.list_(pa.int8())),  # by the verifiers, as for SORM training data
            ("exact_labels", pa.list_(pa.bool_())),  # the task's exact prefix truth; null if it has none
            ("n_tokens", pa.int32()),
        ]
    ),
}

KEYS: dict[str, tuple[str, ...]] = {
    "questions": ("question_id",),
    "rollouts": ("rollout_id",),
    "orm_steps": ("rollout_id", "step"),
    "verifications": ("rollout_id", "step", "verifier_idx"),
    "sorm_labels": ("rollout_id", "step"),
    "sorm_steps": ("rollout_id", "step"),
    "orm_balanced_steps": ("rollout_id", "step"),
    "refine_global": ("draft_rollout_id", "target_rollout_id"),
    "refine_local": ("draft_rollout_id", "bad_step"),
    "refine_value": ("draft_rollout_id", "bad_step"),
    "drafts": ("question_id",),
}


def conform(name: str, table: pa.Table) -> pa.Table:
    """`table` with exactly the columns of schema `name`, in order and cast to their types."""
    schema = SCHEMAS[name]
    missing = [column for column in schema.names if column not in table.column_names]
    if missing:
        raise GloreError(f"{name}: missing column(s) {', '.join(missing)}")
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise GloreError(f"{name}: columns have the wrong types ({error})") from None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def replace_dir(temporary: Path, out: Path) -> None:
    """Swap a finished folder into place so `out` never holds a half-written model."""
    if not out.exists():
        temporary.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    out.rename(old / out.name)
    temporary.rename(out)
    shutil.rmtree(old)


def write_json(data: dict | list, path: str | Path) -> None:
    """Metrics and summaries, written atomically like every table."""
    import json

    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_table(name: str, table: pa.Table, path: str | Path) -> pa.Table:
    """Validate `table` against its suite, then write it atomically; returns what was written."""
    from factory.expectations import validate

    table = conform(name, table)
    validate(name, table)
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return table


def write_batches(name: str, batches: Iterable[pa.RecordBatch], path: str | Path) -> int:
    """Stream `batches` into a Parquet file of table `name`, atomically, unvalidated (the
    caller validates the file before using it); returns the rows written. Row groups hold
    ROW_GROUP_ROWS rows however the batches were cut, so the same rows give the same bytes."""
    pending, rows = SCHEMAS[name].empty_table(), 0
    with atomic_path(path) as temporary, pq.ParquetWriter(temporary, SCHEMAS[name]) as writer:
        for batch in batches:
            pending = pa.concat_tables([pending, conform(name, pa.Table.from_batches([batch]))])
            while pending.num_rows >= ROW_GROUP_ROWS:
                writer.write_table(pending.slice(0, ROW_GROUP_ROWS).combine_chunks())
                pending = pending.slice(ROW_GROUP_ROWS)
                rows += ROW_GROUP_ROWS
        if pending.num_rows or not rows:
            writer.write_table(pending.combine_chunks())
            rows += pending.num_rows
    return rows


def require_columns(name: str, path: str | Path) -> None:
    """Fail early, naming the file, when it is missing, not Parquet, or lacks a column of table
    `name`; only the schema is read, since a verifications file can hold millions of rows."""
    path = Path(path)
    if not path.is_file():
        raise GloreError(f"{path}: input table not found")
    try:
        present = set(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as error:
        raise GloreError(f"{path}: not a readable Parquet file ({error})") from None
    missing = [column for column in SCHEMAS[name].names if column not in present]
    if missing:
        raise GloreError(f"{path}: {name}: missing column(s) {', '.join(missing)}")


def read_table(name: str, path: str | Path, *, inputs: Mapping[str, str | Path] | None = None) -> pa.Table:
    """Read a table and run its suite, or fail with a one-line error naming the file.

    Refinement pairs and balanced ORM steps have rules relative to the rollouts (and
    verifications) they were made from: they are checked when the reader passes those as
    `inputs`, and otherwise rest on the check the label stage made against them when writing."""
    from factory.validation import check_table, needed_inputs

    path = Path(path)
    if not path.is_file():
        raise GloreError(f"{path}: input table not found")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise GloreError(f"{path}: not a readable Parquet file ({error})") from None
    try:
        table = conform(name, table)
        if needed_inputs(name) <= set(inputs or {}):
            check_table(name, table, inputs=inputs or {})
    except GloreError as error:
        raise type(error)(f"{path}: {error}") from None
    return table
