"""The DuckDB engine that runs the suites: every expectation type the suites use, passing and
failing on a tiny table, with the failing count, values and keys; an unknown type or option
refused; suites.json in step with suites.py."""

from __future__ import annotations

import json

import great_expectations.expectations as gxe
import pyarrow as pa
import pytest

from factory.duck import connect
from factory.expectations import SUITES_JSON, suite
from factory.expectations.engine import RULES, Rule, UnsupportedExpectation, first_broken
from factory.expectations.suites import SUITES, stored

SCHEMA = pa.schema([("id", pa.string()), ("a", pa.int32()), ("b", pa.int8()), ("s", pa.string()), ("f", pa.bool_())])


def run(expectations: gxe.Expectation | list[gxe.Expectation], rows: list[tuple]):
    """(rows seen, the first of `expectations` that `rows` break, or None), `id` naming the rows."""
    table = pa.Table.from_pylist([dict(zip(SCHEMA.names, row)) for row in rows], schema=SCHEMA)
    rules = [Rule.from_json(position, expectation.configuration.to_json_dict())
             for position, expectation in enumerate(expectations if isinstance(expectations, list) else [expectations])]
    connection = connect()
    connection.register("candidate", table)
    return first_broken(connection, "select * from candidate", {}, rules, ["id"])


# (expectation, rows that pass, rows that break it, failing count, sample values, failing keys)
CASES = {
    "not null": (gxe.ExpectColumnValuesToNotBeNull(column="s"), [("x", 1, 1, "1", True)],
                 [("x", 1, 1, "1", True), ("y", 1, 1, None, True), ("w", 1, 1, None, True)], 2, [None, None],
                 ["w", "y"]),
    "in set": (gxe.ExpectColumnValuesToBeInSet(column="b", value_set=[0, 1]),
               [("x", 1, 0, "1", True), ("y", 1, None, "1", True)],  # nulls pass
               [("x", 1, 0, "1", True), ("y", 1, 2, "1", True), ("z", 1, -1, "1", True)], 2, [2, -1], ["y", "z"]),
    "in set (booleans)": (gxe.ExpectColumnValuesToBeInSet(column="f", value_set=[True]), [("x", 1, 0, "1", True)],
                          [("x", 1, 0, "1", False)], 1, [False], ["x"]),
    "between": (gxe.ExpectColumnValuesToBeBetween(column="a", min_value=1, max_value=3),
                [("x", 1, 0, "1", True), ("y", 3, 0, "1", True), ("z", None, 0, "1", True)],
                [("x", 0, 0, "1", True), ("y", 4, 0, "1", True), ("z", 2, 0, "1", True)], 2, [0, 4], ["x", "y"]),
    "value lengths": (gxe.ExpectColumnValueLengthsToBeBetween(column="s", min_value=1), [("x", 1, 0, "é", True)],
                      [("x", 1, 0, "", True), ("y", 1, 0, "ab", True)], 1, [""], ["x"]),
    "regex": (gxe.ExpectColumnValuesToMatchRegex(column="s", regex=r"^-?\d+(?:\.\d+)?$"),
              [("x", 1, 0, "-1.5", True), ("y", 1, 0, None, True)],
              [("x", 1, 0, "12", True), ("y", 1, 0, "seven", True), ("z", 1, 0, "1.", True)], 2, ["seven", "1."],
              ["y", "z"]),
    "pair equal": (gxe.ExpectColumnPairValuesToBeEqual(column_A="a", column_B="b"),
                   [("x", 1, 1, "1", True), ("y", None, None, "1", True)],  # both missing: passed over
                   [("x", 1, 1, "1", True), ("y", 2, 1, "1", True), ("z", None, 1, "1", True)], 2,
                   [(2, 1), (None, 1)], ["y", "z"]),
    "pair greater": (gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="a", column_B="b"),
                     [("x", 2, 1, "1", True)],
                     [("x", 2, 1, "1", True), ("y", 1, 1, "1", True), ("z", 0, 1, "1", True)], 2, [(1, 1), (0, 1)],
                     ["y", "z"]),
    "pair greater or equal, either missing passed over": (
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="a", column_B="b", or_equal=True,
                                                    ignore_row_if="either_value_is_missing"),
        [("x", 1, 1, "1", True), ("y", None, 1, "1", True)],
        [("x", 1, 1, "1", True), ("y", 0, 1, "1", True)], 1, [(0, 1)], ["y"]),
    "unique": (gxe.ExpectColumnValuesToBeUnique(column="a"),
               [("x", 1, 0, "1", True), ("y", None, 0, "1", True), ("z", None, 0, "1", True)],  # nulls pass
               [("x", 1, 0, "1", True), ("y", 2, 0, "1", True), ("z", 1, 0, "1", True), ("w", 1, 0, "1", True)], 3,
               [1, 1, 1], ["w", "x", "z"]),
    "compound unique": (gxe.ExpectCompoundColumnsToBeUnique(column_list=["a", "b"]),
                        [("x", 1, 0, "1", True), ("y", 1, 1, "1", True), ("z", None, None, "1", True),
                         ("w", None, None, "1", True)],  # all missing: passed over
                        [("x", 1, 0, "1", True), ("y", 1, 1, "1", True), ("z", 1, 0, "1", True)], 2,
                        [{"a": 1, "b": 0}, {"a": 1, "b": 0}], ["x", "z"]),
    "row count": (gxe.ExpectTableRowCountToBeBetween(min_value=1), [("x", 1, 0, "1", True)], [], 0, [], []),
}


@pytest.mark.parametrize("case", CASES)
def test_each_expectation_type_passes_good_rows_and_counts_and_names_bad_ones(case):
    expectation, good, bad, count, sample, keys = CASES[case]
    assert run(expectation, good) == (len(good), None)
    rows, broken = run(expectation, bad)
    assert rows == len(bad)
    assert (broken.rule, broken.count, broken.sample) == (expectation.expectation_type, count, sample)
    assert [row["id"] for row in broken.failing] == keys


def test_every_type_the_engine_knows_is_tested_and_every_type_the_suites_use_is_known():
    tested = {expectation.expectation_type for expectation, *_ in CASES.values()}
    used = {rule.type for name in SUITES for rule in suite(name)}
    assert tested == set(RULES) and used <= set(RULES)


def test_the_message_names_the_rule_its_columns_the_count_values_and_keys():
    _, broken = run(CASES["pair equal"][0], CASES["pair equal"][2])
    assert broken.message("t") == ("table t failed expect_column_pair_values_to_be_equal on a = b: 2 row(s) "
                                   "(e.g. [(2, 1), (None, 1)]); failing keys: id='y'; id='z'")


def test_the_first_broken_rule_in_suite_order_is_reported():
    suite_of_three = [gxe.ExpectColumnValuesToBeUnique(column="a"), gxe.ExpectColumnValuesToNotBeNull(column="s"),
                      gxe.ExpectColumnValuesToBeBetween(column="b", min_value=0)]
    rows, broken = run(suite_of_three, [("x", 1, -1, None, True)])
    assert (rows, broken.rule, broken.count) == (1, "expect_column_values_to_not_be_null", 1)


def test_an_unknown_expectation_type_or_option_is_refused_before_any_query():
    unknown = gxe.ExpectColumnValuesToBeIncreasing(column="a")
    with pytest.raises(UnsupportedExpectation, match="expect_column_values_to_be_increasing is not an expectation"):
        run(unknown, [("x", 1, 0, "1", True)])
    with pytest.raises(UnsupportedExpectation, match="option.*mostly"):
        run(gxe.ExpectColumnValuesToNotBeNull(column="a", mostly=0.5), [("x", 1, 0, "1", True)])


def test_suites_json_is_what_suites_py_defines():
    # after a change to suites.py: python -m factory.expectations.suites
    assert json.loads(SUITES_JSON.read_text(encoding="utf-8")) == stored()


# Compound keys ending in a number are first grouped without it, its values kept as bits: values
# outside 0..63 and nulls set no bit, so they must be settled by the exact count, never missed.
@pytest.mark.parametrize(("pairs", "repeated"), [
    ([(1, 3), (2, 3), (1, 4)], 0),
    ([(1, 3), (2, 3), (1, 3)], 2),
    ([(1, 100), (1, 101), (1, -1), (1, 63), (1, 0)], 0),
    ([(1, 100), (1, 100), (1, 1)], 2),
    ([(1, -5), (1, -5), (1, -5)], 3),
    ([(1, None), (1, 2), (2, None)], 0),
    ([(1, None), (1, None)], 2),
])
def test_compound_uniqueness_on_a_number_counts_exactly_the_repeated_rows(pairs, repeated):
    rows = [(f"r{i}", a, b, "1", True) for i, (a, b) in enumerate(pairs)]
    _, broken = run(gxe.ExpectCompoundColumnsToBeUnique(column_list=["a", "b"]), rows)
    assert (broken.count if broken else 0) == repeated
