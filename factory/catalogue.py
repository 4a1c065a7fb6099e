"""The catalogue of the factory's tables: one record per table with its Arrow schema, its keys,
how its suite may run and whether the label stage's SQL makes it. Every other module names
tables through it."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from factory import GloreError

STRINGS = pa.list_(pa.string())

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

# One row per labelled step: the ORM's outcome label, or the balanced ORM's.
STEP_LABELS = pa.schema(
        [
            ("rollout_id", pa.string()),
            ("step", pa.int32()),
            ("question_id", pa.string()),
            ("label", pa.int8()),
        ]
    )


@dataclass(frozen=True)
class Table:
    schema: pa.Schema
    keys: tuple[str, ...]
    # Its suite reads columns that sql/checks/<name>.sql derives from it, inside its lists.
    derived: bool = False
    # Made by sql/<name>.sql in the label stage and checked by sql/checks/<name>.sql, whose rules
    # span rows and read the rollouts (and verifications) it was made from.
    labelled: bool = False


# Label tables in label order: a SQL file may read the tables made before it (sorm_steps and
# refine_local read sorm_labels).
TABLES: dict[str, Table] = {
    "questions": Table(
        pa.schema(
            [
                ("question_id", pa.string()),
                ("split", pa.string()),
                ("question", pa.string()),
                ("answer", pa.string()),  # canonical number string
                ("solution", STRINGS),  # reference steps; empty where the source has none
            ]
        ),
        ("question_id",),
    ),
    "rollouts": Table(
        pa.schema(
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
        ("rollout_id",),
        derived=True,
    ),
    "verifications": Table(
        pa.schema(
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
        ("rollout_id", "step", "verifier_idx"),
    ),
    "sorm_labels": Table(SORM_LABELS, ("rollout_id", "step"), labelled=True),
    "sorm_steps": Table(SORM_LABELS, ("rollout_id", "step"), labelled=True),
    "orm_steps": Table(STEP_LABELS, ("rollout_id", "step"), labelled=True),
    "orm_balanced_steps": Table(STEP_LABELS, ("rollout_id", "step"), labelled=True),
    "refine_global": Table(
        pa.schema(
            [
                ("draft_rollout_id", pa.string()),
                ("target_rollout_id", pa.string()),
                *REFINEMENT_PAIR,
            ]
        ),
        ("draft_rollout_id", "target_rollout_id"),
        labelled=True,
    ),
    "refine_local": Table(
        pa.schema(
            [
                ("draft_rollout_id", pa.string()),
                ("bad_step", pa.int32()),  # the [BAD] marker goes before this step of the draft
                *REFINEMENT_PAIR,
                ("target_rollout_id", pa.string()),  # where bad_step = 1: the correct rollout used
                ("verifier_idx", pa.int32()),  # where bad_step > 1: the continuation of P_{bad_step-1} used
            ]
        ),
        ("draft_rollout_id", "bad_step"),
        labelled=True,
    ),
    "refine_value": Table(
        pa.schema(
            [
                ("draft_rollout_id", pa.string()),
                ("bad_step", pa.int32()),
                *REFINEMENT_PAIR,
                ("verifier_idx", pa.int32()),  # the continuation of P_{bad_step-1} used
            ]
        ),
        ("draft_rollout_id", "bad_step"),
        labelled=True,
    ),
    "drafts": Table(
        pa.schema(
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
        ("question_id",),
        derived=True,
    ),
    # Stepwise supervision from outside the pipeline (`glore import-steps`): one row per solution.
    "imported_steps": Table(
        pa.schema(
            [
                ("solution_id", pa.string()),  # <table name>-<row of the source>
                ("question", pa.string()),
                ("steps", STRINGS),
                ("soft_labels", pa.list_(pa.float64())),  # as the source gives them, in [0, 1]
                ("labels", pa.list_(pa.int8())),  # 1 where the soft label is above the import's threshold
            ]
        ),
        ("solution_id",),
        derived=True,
    ),
}
SCHEMAS = {name: table.schema for name, table in TABLES.items()}
KEYS = {name: table.keys for name, table in TABLES.items()}
LABEL_TABLES = tuple(name for name, table in TABLES.items() if table.labelled)
# Made by sql/<name>.sql before the label tables, which read them as $<name>: work that several
# label files share, done once. Never written out, so not in TABLES.
LABEL_INTERMEDIATES = ("step_verdicts",)
STEP_TABLES = {"orm": "orm_steps", "orm_balanced": "orm_balanced_steps", "sorm": "sorm_steps"}  # per reward model
PAIR_TABLES = {"global": "refine_global", "local": "refine_local", "value": "refine_value"}  # per refiner


def checks_sql(name: str) -> str | None:
    """The SQL under sql/ that derives the columns the suite of table `name` reads; None for a
    table whose suite reads its own columns alone."""
    return f"checks/{name}" if TABLES[name].derived or TABLES[name].labelled else None


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
