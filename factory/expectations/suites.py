"""The expectations of each table.

Rules across rows (step numbers contiguous per rollout) become derived columns that a
plain column expectation can check, so every rule is reported by Great Expectations.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
import pandas as pd


def _keys_unique(*columns: str) -> gxe.Expectation:
    if len(columns) == 1:
        return gxe.ExpectColumnValuesToBeUnique(column=columns[0])
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns))


def _not_null(*columns: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=column) for column in columns]


def _step_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """`expected_step`: the step's rank within its rollout, which must equal `step` (1, 2, ...)."""
    ranked = frame.sort_values(["rollout_id", "step"], kind="stable")
    frame = frame.copy()
    frame["expected_step"] = ranked.groupby("rollout_id").cumcount().add(1).reindex(frame.index)
    return frame


def questions() -> list[gxe.Expectation]:
    return [
        _keys_unique("question_id"),
        *_not_null("question_id", "split", "question", "answer", "solution"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="question", min_value=1),
        gxe.ExpectColumnValuesToMatchRegex(column="answer", regex=r"^-?\d+(?:\.\d+)?$"),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=["train", "dev", "test"]),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]


def rollouts() -> list[gxe.Expectation]:
    return [
        _keys_unique("rollout_id"),
        _keys_unique("question_id", "sample_idx"),
        *_not_null("rollout_id", "question_id", "sample_idx", "steps", "step_results", "is_correct"),
        gxe.ExpectColumnValuesToBeBetween(column="sample_idx", min_value=0),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="n_steps", column_B="n_step_results"),
        gxe.ExpectColumnValuesToBeInSet(column="null_steps", value_set=[0]),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]


def orm_steps() -> list[gxe.Expectation]:
    return [
        _keys_unique("rollout_id", "step"),
        *_not_null("rollout_id", "step", "question_id", "label"),
        gxe.ExpectColumnValuesToBeInSet(column="label", value_set=[0, 1]),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="step", column_B="expected_step"),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]


SUITES = {"questions": questions, "rollouts": rollouts, "orm_steps": orm_steps}


def with_derived_columns(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a suite checks that are computed across rows or inside lists."""
    if name == "rollouts":
        frame = frame.copy()
        frame["n_steps"] = frame["steps"].map(lambda steps: 0 if steps is None else len(steps))
        frame["n_step_results"] = frame["step_results"].map(lambda r: 0 if r is None else len(r))
        frame["null_steps"] = frame["steps"].map(
            lambda steps: 0 if steps is None else sum(step is None or not step.strip() for step in steps)
        )
    if "step" in frame.columns and "rollout_id" in frame.columns:
        frame = _step_numbers(frame)
    return frame
