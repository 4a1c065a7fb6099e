"""The expectations of each table, written with Great Expectations.

Rules across rows (step numbers contiguous per rollout) or inside lists become derived
columns, made in DuckDB by sql/checks/<table>.sql, that a plain column expectation can check.
The stages run the suites as stored in suites.json, Great Expectations' own JSON form of them,
without importing it (seconds); `python -m factory.expectations.suites` writes that file anew
after a change here, and a test fails until it has.
"""

from __future__ import annotations

import json

import great_expectations as gx
import great_expectations.expectations as gxe

from factory.expectations import SUITES_JSON


def _keys_unique(*columns: str) -> gxe.Expectation:
    if len(columns) == 1:
        return gxe.ExpectColumnValuesToBeUnique(column=columns[0])
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns))


def _not_null(*columns: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=column) for column in columns]


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


def verifications() -> list[gxe.Expectation]:
    return [
        _keys_unique("rollout_id", "step", "verifier_idx"),
        *_not_null("rollout_id", "step", "verifier_idx", "continuation", "continuation_numbers", "is_correct"),
        gxe.ExpectColumnValuesToBeBetween(column="step", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="verifier_idx", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="n_tokens", min_value=0),
    ]


# The label stage's tables are checked through columns that sql/checks/<table>.sql derives in
# DuckDB, across rows and from the stage's inputs; each rule says in words what it guards.


def _rule(expectation: type[gxe.Expectation], description: str, **kwargs: object) -> gxe.Expectation:
    return expectation(description=description, **kwargs)


def _always(column: str, description: str) -> gxe.Expectation:
    return _rule(gxe.ExpectColumnValuesToBeInSet, description, column=column, value_set=[True])


def _one_row_per_key(keys: str) -> gxe.Expectation:
    return _rule(gxe.ExpectColumnValuesToBeInSet, f"keys ({keys}) unique", column="rows_per_key", value_set=[1])


def _label_rules() -> list[gxe.Expectation]:
    return [
        _always("has_ids", "rollout and question ids present"),
        _rule(gxe.ExpectColumnValuesToNotBeNull, "every step labelled", column="label"),
        _rule(gxe.ExpectColumnValuesToBeInSet, "labels in {0, 1}", column="label", value_set=[0, 1]),
        _rule(gxe.ExpectColumnValuesToBeInSet, "raw labels in {0, 1}", column="raw_label", value_set=[0, 1]),
        _rule(gxe.ExpectColumnPairValuesAToBeGreaterThanB, "label >= raw_label (back-propagation only adds)",
              column_A="label", column_B="raw_label", or_equal=True, ignore_row_if="either_value_is_missing"),
        _rule(gxe.ExpectColumnPairValuesAToBeGreaterThanB, "labels non-increasing along a rollout's steps",
              column_A="label", column_B="next_label", or_equal=True, ignore_row_if="either_value_is_missing"),
    ]


def orm_steps() -> list[gxe.Expectation]:
    return [
        _one_row_per_key("rollout_id, step"),
        _always("has_ids", "rollout and question ids present"),
        _rule(gxe.ExpectColumnPairValuesToBeEqual, "steps numbered 1..L in every rollout",
              column_A="step", column_B="expected_step"),
        _rule(gxe.ExpectColumnValuesToNotBeNull, "every step labelled", column="label"),
        _rule(gxe.ExpectColumnValuesToBeInSet, "labels in {0, 1}", column="label", value_set=[0, 1]),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]


def sorm_labels() -> list[gxe.Expectation]:
    return [
        _one_row_per_key("rollout_id, step"),
        _rule(gxe.ExpectColumnPairValuesToBeEqual, "steps numbered 1..L in every rollout",
              column_A="step", column_B="expected_step"),
        *_label_rules(),
        _rule(gxe.ExpectColumnPairValuesAToBeGreaterThanB, "n_verifiers >= n_correct",
              column_A="n_verifiers", column_B="n_correct", or_equal=True),
        _rule(gxe.ExpectColumnPairValuesAToBeGreaterThanB, "n_correct >= n_consistent",
              column_A="n_correct", column_B="n_consistent", or_equal=True),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]


def sorm_steps() -> list[gxe.Expectation]:
    return [
        _one_row_per_key("rollout_id, step"),
        *_label_rules(),
        _rule(gxe.ExpectColumnPairValuesToBeEqual, "as many positives as negatives at every step number",
              column_A="positives_at_step", column_B="negatives_at_step"),
    ]


def orm_balanced_steps() -> list[gxe.Expectation]:
    return [
        _one_row_per_key("rollout_id, step"),
        _always("has_ids", "rollout and question ids present"),
        _rule(gxe.ExpectColumnPairValuesToBeEqual, "steps numbered 1..L in every rollout",
              column_A="step", column_B="expected_step"),
        _rule(gxe.ExpectColumnValuesToBeInSet, "labels in {0, 1}", column="label", value_set=[0, 1]),
        _rule(gxe.ExpectColumnPairValuesToBeEqual, "every step labelled with its rollout's correctness",
              column_A="label", column_B="rollout_label"),
        _rule(gxe.ExpectColumnPairValuesToBeEqual, "as many correct as incorrect rollouts per question",
              column_A="correct_rollouts", column_B="incorrect_rollouts"),
    ]


def refine_global() -> list[gxe.Expectation]:
    return [
        _one_row_per_key("draft_rollout_id, target_rollout_id"),
        _rule(gxe.ExpectColumnValuesToBeInSet, "distinct target texts per draft",
              column="pairs_per_target_text", value_set=[1]),
        _always("has_text", "question id, draft and target present"),
        _always("draft_is_incorrect", "the draft is an incorrect rollout"),
        _always("target_is_correct", "the target is a correct rollout"),
        _always("one_question", "draft and target answer the pair's question"),
    ]


def _local_rules() -> list[gxe.Expectation]:
    return [
        _one_row_per_key("draft_rollout_id, bad_step"),
        _always("has_text", "question id, draft and target present"),
        _always("draft_is_incorrect_rollout", "the draft is an incorrect rollout's steps"),
        _always("bad_step_in_draft", "bad_step is a step of the draft"),
        _always("keeps_steps_before_bad", "the target begins with the draft's first bad_step-1 steps"),
        _always("ends_in_correct_answer", "the target ends in an answer the inputs mark correct"),
    ]


def refine_local() -> list[gxe.Expectation]:
    return _local_rules()


def refine_value() -> list[gxe.Expectation]:
    return [
        *_local_rules(),
        _always("leaves_draft_at_bad_step", "the target's step bad_step differs from the draft's"),
    ]


def drafts() -> list[gxe.Expectation]:
    return [
        _keys_unique("question_id"),
        *_not_null("question_id", "draft", "is_correct", "step_labels"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="n_steps", column_B="n_step_labels"),
        gxe.ExpectColumnValuesToBeInSet(column="labels_not_binary", value_set=[0]),
        gxe.ExpectColumnValuesToBeInSet(column="labels_increase", value_set=[0]),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]


def imported_steps() -> list[gxe.Expectation]:
    return [
        _keys_unique("solution_id"),
        *_not_null("solution_id", "question", "steps", "soft_labels", "labels"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="question", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="n_steps", min_value=1),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="n_steps", column_B="n_soft_labels"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="n_steps", column_B="n_labels"),
        gxe.ExpectColumnValuesToBeInSet(column="blank_steps", value_set=[0]),
        gxe.ExpectColumnValuesToBeInSet(column="soft_labels_outside_0_1", value_set=[0]),
        gxe.ExpectColumnValuesToBeInSet(column="labels_not_binary", value_set=[0]),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]


SUITES = {
    "questions": questions,
    "rollouts": rollouts,
    "orm_steps": orm_steps,
    "verifications": verifications,
    "sorm_labels": sorm_labels,
    "sorm_steps": sorm_steps,
    "orm_balanced_steps": orm_balanced_steps,
    "refine_global": refine_global,
    "refine_local": refine_local,
    "refine_value": refine_value,
    "drafts": drafts,
    "imported_steps": imported_steps,
}


def stored() -> dict[str, dict]:
    """Every suite as Great Expectations serialises it: what suites.json holds."""
    return {name: gx.ExpectationSuite(name=name, expectations=make()).to_json_dict() for name, make in SUITES.items()}


if __name__ == "__main__":
    SUITES_JSON.write_text(json.dumps(stored(), indent=1) + "\n", encoding="utf-8")
