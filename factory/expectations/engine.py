"""The expectations of a suite run as DuckDB aggregates over the relation they check.

A suite is Great Expectations' own serialised form (suites.json, made from suites.py): each
expectation a type and kwargs. Every row rule of a suite is one filtered count in a single
scan of the relation, a uniqueness rule one group-by, so a table of millions of rows is
validated where it lies, at DuckDB's speed, and never as pandas frames in Python. Only the
failing rule, if any, is looked at again, for a few of its rows by key.

The rules mean what Great Expectations' pandas engine made of them when the suites were
written: a column rule passes over nulls (apart from expect_column_values_to_not_be_null), a
pair rule skips the rows its ignore_row_if names, uniqueness counts every row of a repeated
value. Only the types and options the suites use are known: anything else raises
UnsupportedExpectation instead of passing unchecked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from factory import GloreError
from factory.duck import identifier

EXAMPLES = 3  # failing rows named in an error


class UnsupportedExpectation(GloreError):
    """A suite holds an expectation (or an option of one) this engine cannot evaluate."""


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, as Great Expectations serialises it."""

    position: int  # in the suite: the first broken one is reported
    type: str
    kwargs: dict
    description: str | None = None

    @classmethod
    def from_json(cls, position: int, expectation: Mapping) -> Rule:
        return cls(position, expectation["type"], dict(expectation["kwargs"]), expectation.get("description"))


@dataclass
class Broken:
    """An expectation that rows of a table broke."""

    rule: str
    description: str | None
    columns: str
    count: int  # rows that broke it; for a rule on the whole table (the row count) what it saw
    sample: list  # a few of the values that broke it
    failing: list[dict]  # the keys of a few rows that broke it

    def message(self, name: str) -> str:
        """One line: the table, the expectation, how many rows broke it, and a few of them by key."""
        described = f" ({self.description})" if self.description else ""
        sample = [value for value in self.sample if value is not None]  # nulls say nothing more
        values = f" (e.g. {sample})" if sample else ""
        keys: list[str] = []
        for row in self.failing:
            shown = ", ".join(f"{key}={value!r}" for key, value in row.items())
            shown = f"({shown})" if len(row) > 1 else shown
            if shown not in keys:  # a duplicated key comes once per row that has it
                keys.append(shown)
        where = f"; failing keys: {'; '.join(keys[:EXAMPLES])}" if keys else ""
        columns = self.columns or "the table"
        return f"table {name} failed {self.rule}{described} on {columns}: {self.count} row(s){values}{where}"


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    kind: str  # "rows": `test` is true on a row that breaks it; "table": true on a table that
    # breaks it (an aggregate); "repeats": the values of `shows` must not repeat over the rows
    # that `test` leaves (it is true on the ones the rule passes over)
    test: str
    shows: list[str]  # what a failing row shows: one column a value, several a tuple or a record
    parameters: dict[str, object]


def _bound(rule: Rule, kwarg: str, parameters: dict[str, object]) -> str:
    """The parameter that carries kwarg `kwarg` of `rule` into the query: values are never SQL text."""
    parameters[name := f"rule{rule.position}_{kwarg}"] = rule.kwargs[kwarg]
    return f"${name}"


def _outside(value: str, rule: Rule, parameters: dict[str, object]) -> str:
    """`value` outside [min_value, max_value], either of which may be left out."""
    tests = [f"{value} {relation} {_bound(rule, bound, parameters)}"
             for bound, relation in (("min_value", "<"), ("max_value", ">")) if rule.kwargs.get(bound) is not None]
    if not tests:
        raise UnsupportedExpectation(f"{rule.type} needs min_value or max_value")
    return " or ".join(tests)


def _missing(columns: list[str], ignore_row_if: str) -> str:
    """The rows that ignore_row_if passes over, by its name for them."""
    nulls = [f"{identifier(column)} is null" for column in columns]
    if ignore_row_if in ("all_values_are_missing", "both_values_are_missing"):
        return "(" + " and ".join(nulls) + ")"
    if ignore_row_if in ("any_value_is_missing", "either_value_is_missing"):
        return "(" + " or ".join(nulls) + ")"
    return "false"  # never, neither


def _column_rule(breaks: Callable[[str, Rule, dict], str]) -> Callable[[Rule], _Compiled]:
    """A rule on the values of one column, which passes over its nulls."""
    def compile_rule(rule: Rule) -> _Compiled:
        column, parameters = rule.kwargs["column"], {}
        quoted = identifier(column)
        return _Compiled(rule, "rows", f"{quoted} is not null and ({breaks(quoted, rule, parameters)})", [column],
                         parameters)
    return compile_rule


def _not_null(rule: Rule) -> _Compiled:
    column = rule.kwargs["column"]
    return _Compiled(rule, "rows", f"{identifier(column)} is null", [column], {})


def _pair_rule(relation: Callable[[Rule], str]) -> Callable[[Rule], _Compiled]:
    """A rule on two columns: a comparison that SQL leaves null (a value missing) breaks it,
    unless ignore_row_if passes over the row."""
    def compile_rule(rule: Rule) -> _Compiled:
        a, b = rule.kwargs["column_A"], rule.kwargs["column_B"]
        skipped = _missing([a, b], rule.kwargs.get("ignore_row_if", "both_values_are_missing"))
        holds = f"{identifier(a)} {relation(rule)} {identifier(b)}"
        return _Compiled(rule, "rows", f"not {skipped} and not coalesce({holds}, false)", [a, b], {})
    return compile_rule


def _unique(rule: Rule) -> _Compiled:
    if "column" in rule.kwargs:  # a column rule: its nulls are passed over
        columns, skipped = [rule.kwargs["column"]], "any_value_is_missing"
    else:
        columns, skipped = list(rule.kwargs["column_list"]), rule.kwargs.get("ignore_row_if", "all_values_are_missing")
    return _Compiled(rule, "repeats", _missing(columns, skipped), columns, {})


def _row_count(rule: Rule) -> _Compiled:
    parameters: dict[str, object] = {}
    return _Compiled(rule, "table", _outside("count(*)", rule, parameters), [], parameters)


# type -> (how it compiles, the kwargs it understands): another option would change what the
# rule means, so it is refused rather than ignored.
RULES: dict[str, tuple[Callable[[Rule], _Compiled], set[str]]] = {
    "expect_column_values_to_not_be_null": (_not_null, {"column"}),
    "expect_column_values_to_be_in_set": (
        _column_rule(lambda column, rule, parameters: f"not list_contains({_bound(rule, 'value_set', parameters)}, "
                                                      f"{column})"),
        {"column", "value_set"}),
    "expect_column_values_to_be_between": (_column_rule(_outside), {"column", "min_value", "max_value"}),
    "expect_column_value_lengths_to_be_between": (
        _column_rule(lambda column, rule, parameters: _outside(f"length({column})", rule, parameters)),
        {"column", "min_value", "max_value"}),
    "expect_column_values_to_match_regex": (
        _column_rule(lambda column, rule, parameters: f"not regexp_matches({column}, "
                                                      f"{_bound(rule, 'regex', parameters)})"),
        {"column", "regex"}),
    "expect_column_pair_values_to_be_equal": (_pair_rule(lambda rule: "="), {"column_A", "column_B", "ignore_row_if"}),
    "expect_column_pair_values_a_to_be_greater_than_b": (
        _pair_rule(lambda rule: ">=" if rule.kwargs.get("or_equal") else ">"),
        {"column_A", "column_B", "or_equal", "ignore_row_if"}),
    "expect_column_values_to_be_unique": (_unique, {"column"}),
    "expect_compound_columns_to_be_unique": (_unique, {"column_list", "ignore_row_if"}),
    "expect_table_row_count_to_be_between": (_row_count, {"min_value", "max_value"}),
}


def compile_rule(rule: Rule) -> _Compiled:
    if rule.type not in RULES:
        raise UnsupportedExpectation(f"{rule.type} is not an expectation the DuckDB engine knows "
                                     f"(it knows {', '.join(sorted(RULES))})")
    compile_type, known = RULES[rule.type]
    unknown = sorted(set(rule.kwargs) - known)
    if unknown:
        raise UnsupportedExpectation(f"{rule.type}: option(s) {', '.join(unknown)} not supported")
    return compile_type(rule)


def first_broken(connection, relation: str, parameters: Mapping[str, object], rules: Sequence[Rule],
                 keys: Sequence[str]) -> tuple[int, Broken | None]:
    """(the rows of `relation`, a SELECT with `parameters` bound; the first of `rules` that they
    break, or None). `keys`: the columns that name a failing row."""
    compiled = [compile_rule(rule) for rule in rules]  # every rule before any query: none is skipped
    scanned = [each for each in compiled if each.kind != "repeats"]
    counts = connection.execute(
        "select count(*)" + "".join(f", count(*) filter (where {each.test})" if each.kind == "rows"
                                    else f", {each.test}" for each in scanned)
        + f" from (\n{relation}\n) as checked",
        {**parameters, **{key: value for each in scanned for key, value in each.parameters.items()}},
    ).fetchall()[0]
    rows = counts[0]
    broken = {each.rule.position: (each, rows if each.kind == "table" else count)
              for each, count in zip(scanned, counts[1:]) if count}
    for each in compiled:  # a group-by each, so only those that come before a broken rule
        if each.kind == "repeats" and all(each.rule.position < position for position in broken):
            if count := _repeated_rows(connection, relation, parameters, each):
                broken[each.rule.position] = (each, count)
    if not broken:
        return rows, None
    return rows, _examples(connection, relation, parameters, *broken[min(broken)], keys)


def _repeated_rows(connection, relation: str, parameters: Mapping[str, object], rule: _Compiled) -> int:
    """Rows whose values of `rule.shows` another row repeats. Each test of _repeat_tests finds
    every repeat, and may also raise a false alarm that the next, dearer one settles: a clean
    table is passed by the cheapest, and only a repeat runs them all."""
    for test in _repeat_tests(connection, relation, parameters, rule):
        repeated = connection.execute(test, dict(parameters)).fetchall()[0][0]
        if not repeated:
            return 0
    return repeated


def _repeat_tests(connection, relation: str, parameters: Mapping[str, object], rule: _Compiled) -> list[str]:
    """Queries whose answer is 0 only when no values of `rule.shows` repeat, cheapest first; the
    last counts the rows that repeat.

    - A compound key ending in a small number, such as (rollout_id, step, verifier_idx), is
      grouped without it (eight times fewer groups for K=8 verifiers), each group keeping its
      numbers as bits of a 64-bit set: a number repeated in a group sets a bit twice, so the
      group has more rows than bits. Numbers outside 0..63, or null, set none and raise the alarm.
    - Grouping by one 64-bit hash of the values is about 40% cheaper than by the values (a
      string key): equal values hash alike; a shared hash is a repeat or a collision.
    - The values themselves."""
    checked = f"from (\n{relation}\n) as checked where not {rule.test}"
    listed = ", ".join(identifier(column) for column in rule.shows)
    tests = [f"select coalesce(sum(rows), 0) from (select count(*) as rows {checked} group by {key} "
             f"having count(*) > 1)" for key in (f"hash({listed})", listed)]
    *others, last = rule.shows
    if others and _column_types(connection, relation, parameters)[last] in _INTEGER_TYPES:
        bit = f"try_cast({identifier(last)} as utinyint)"
        others_hash = f"hash({', '.join(identifier(column) for column in others)})"
        tests.insert(0, f"select count(*) from (select 1 {checked} group by {others_hash} having count(*) <> "
                        f"coalesce(bit_count(bit_or(case when {bit} < 64 then 1::ubigint << {bit} end)), 0))")
    return tests


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}


def _column_types(connection, relation: str, parameters: Mapping[str, object]) -> dict[str, str]:
    """The DuckDB type of each column of `relation`, by name, without running it."""
    described = connection.execute(f"select * from (\n{relation}\n) as checked limit 0", dict(parameters)).description
    return {name: str(kind) for name, kind, *_ in described}


def _examples(connection, relation: str, parameters: Mapping[str, object], rule: _Compiled, count: int,
              keys: Sequence[str]) -> Broken:
    """The broken rule with a few of its rows: the first by key, then by the values shown."""
    broken = Broken(rule.rule.type, rule.rule.description, _columns_named(rule.rule), count, [], [])
    if rule.kind == "table":
        return broken
    shown = list(dict.fromkeys([*keys, *rule.shows]))
    listed = ", ".join(identifier(column) for column in shown)
    if rule.kind == "rows":
        rows, where = f"(\n{relation}\n) as checked", rule.test
    else:
        grouped = ", ".join(identifier(column) for column in rule.shows)
        rows = (f"(select *, count(*) over (partition by {grouped}) as __repeats from (\n{relation}\n) as checked "
                f"where not {rule.test})")
        where = "__repeats > 1"
    found = connection.execute(
        f"select {listed} from {rows} where {where} order by {listed} limit $examples",
        {**parameters, **rule.parameters, "examples": EXAMPLES},
    ).fetchall()
    records = [dict(zip(shown, row)) for row in found]
    broken.failing = [{key: record[key] for key in keys} for record in records]
    broken.sample = [_shown(rule, record) for record in records]
    return broken


def _shown(rule: _Compiled, record: dict) -> object:
    """A failing row's values as Great Expectations lists them: a value, a pair, or a record."""
    if rule.rule.type == "expect_compound_columns_to_be_unique":
        return {column: record[column] for column in rule.shows}
    values = tuple(record[column] for column in rule.shows)
    return values if len(values) > 1 else values[0]


def _columns_named(rule: Rule) -> str:
    kwargs = rule.kwargs
    if "column_A" in kwargs:
        relation = (">=" if kwargs.get("or_equal") else ">") if "greater_than" in rule.type else "="
        return f"{kwargs['column_A']} {relation} {kwargs['column_B']}"
    return kwargs.get("column") or ", ".join(kwargs.get("column_list") or [])
