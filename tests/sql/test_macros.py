"""Given/expect tests of sql/macros.sql: the rules several label files share, defined on every
connection that factory/duck.py makes."""

from __future__ import annotations

from contextlib import closing

import pytest

from factory import verifiers
from factory.duck import connect, parameters_of


def scalar(connection, expression: str, parameters: dict | None = None):
    return connection.execute(f"select {expression}", parameters or {}).fetchall()[0][0]


@pytest.mark.parametrize(
    ("is_correct", "numbers", "step_result", "counts"),
    [
        (True, ["3", "7"], "3", True),  # correct and uses the step's result
        (True, ["7"], "3", False),  # correct while ignoring the step's result: says nothing of the step
        (False, ["3"], "3", False),  # uses the result but misses the answer
        (True, [], None, True),  # a step without a result has nothing to show
    ],
)
def test_counts_for_step_is_the_consistency_rule(is_correct, numbers, step_result, counts):
    got = scalar(connect(), "counts_for_step($correct, $numbers::varchar[], $result::varchar)",
                 {"correct": is_correct, "numbers": numbers, "result": step_result})
    assert got is counts
    # the backward search applies the same rule in Python while it generates
    assert verifiers.counts(is_correct, step_result, numbers) is counts


def test_seeded_hash_hashes_the_seed_inside_the_text():
    connection = connect()
    assert scalar(connection, "seeded_hash('q1/0', $seed)", {"seed": 3}) == scalar(connection, "hash('q1/0:3')")
    assert scalar(connection, "seeded_hash('q1/0', 3)") != scalar(connection, "seeded_hash('q1/0', 4)")


def test_the_macros_reach_the_cursors_the_label_stage_checks_on():
    with closing(connect()) as connection, closing(connection.cursor()) as cursor:
        assert scalar(cursor, "seeded_hash('a', 0)") == scalar(connection, "seeded_hash('a', 0)")


def test_the_macros_bind_no_parameters_of_their_own():
    # values are bound where a file calls a macro, so parameters_of(file) names all it needs
    assert parameters_of("macros") == set()
