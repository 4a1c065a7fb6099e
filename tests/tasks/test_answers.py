from __future__ import annotations

import pytest

from factory.tasks.answers import (
    extract,
    extract_answer,
    is_correct,
    normalise_number,
    numbers_in,
    same_number,
    split_steps,
    step_result,
)


@pytest.mark.parametrize(
    ("text", "value", "method"),
    [
        ("He has 3 + 15 = 18 apples.\n#### 18", "18", "strict"),
        ("####18", "18", "strict"),
        ("#### $1,000.00", "1000", "strict"),
        ("So he has 18 apples. The answer is 18.", "18", "phrased"),
        ("The answer is: 18", "18", "phrased"),
        ("the answer is $18.00.", "18", "phrased"),
        ("The final answer is 7", "7", "phrased"),
        ("Q: How many?\nA: 18", "18", "phrased"),
        ("She pays $18.00 in total", "18", "flexible"),
        ("They raise 1,000 dollars", "1000", "flexible"),
        ("The temperature is -3 degrees", "-3", "flexible"),
        ("Each costs 2.50", "2.5", "flexible"),
        ("It is 18.", "18", "flexible"),
        ("no number here", None, "none"),
        ("", None, "none"),
    ],
)
def test_each_convention_is_extracted_and_says_which_rule_fired(text, value, method):
    found = extract(text)
    assert (found.value, found.method) == (value, method)
    assert extract_answer(text) == value


def test_strict_beats_phrased_and_phrased_beats_last_number():
    assert extract("The answer is 5.\n#### 6\nThen 7").value == "6"
    assert extract("The answer is 5, and 10 more tomorrow").value == "5"


def test_the_first_answer_line_wins_over_text_the_model_ran_on_into():
    assert extract("3 + 4 = 7\n#### 7\nQuestion: next one\n#### 99").value == "7"


def test_last_phrase_wins_when_the_model_corrects_itself():
    assert extract("The answer is 5. Wait, no: the answer is 6.").value == "6"


def test_minus_between_operands_is_subtraction_not_a_negative_number():
    assert numbers_in("10-3 = 7") == ["10", "3", "7"]
    assert numbers_in("it fell to -3 today") == ["-3"]
    assert numbers_in("(5)-2") == ["5", "2"]


def test_thousands_commas_only_group_three_digits():
    assert numbers_in("1,000,000 and 1,2,3") == ["1000000", "1", "2", "3"]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("18", "18"),
        ("18.0", "18"),
        ("18.", "18"),
        ("$18", "18"),
        ("$18.00", "18"),
        ("1,000", "1000"),
        ("-3", "-3"),
        ("-0", "0"),
        ("2.50", "2.5"),
        ("0.5", "0.5"),
        (" 7 ", "7"),
        ("1" * 40, "1" * 40),  # runaway model output must not overflow decimal precision
        ("abc", None),
        ("", None),
        ("nan", None),
        ("Infinity", None),
    ],
)
def test_normalise_number(text, canonical):
    assert normalise_number(text) == canonical


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("18", "18.0", True),
        ("18", "$18", True),
        ("18", "18.", True),
        ("$18.00", "18", True),
        ("1,000", "1000", True),
        ("-3", "-3.0", True),
        ("2.50", "2.5", True),
        ("0.5", "5", False),
        ("0.5", "0.05", False),
        ("-3", "3", False),
        ("18", None, False),
        (None, None, False),
        ("eighteen", "eighteen", False),
    ],
)
def test_comparison_is_numeric(left, right, equal):
    assert same_number(left, right) is equal


def test_is_correct_accepts_a_bare_answer_or_a_whole_solution():
    assert is_correct("18.0", "18")
    assert is_correct("He has 3 * 6 = 18 apples.\n#### 18", "18")
    assert is_correct("The answer is $1,000.", "1000")
    assert not is_correct("#### 17", "18")
    assert not is_correct(None, "18")
    assert not is_correct("no idea", "18")


def test_split_steps_drops_blank_lines_and_stops_at_the_answer_line():
    text = "First 2 * 3 = <<2*3=6>>6.\n\n   \nThen 6 + 1 = <<6+1=7>>7.  \n#### 7\nQuestion: runaway"
    assert split_steps(text) == ["First 2 * 3 = <<2*3=6>>6.", "Then 6 + 1 = <<6+1=7>>7."]
    assert split_steps("") == []
    assert split_steps("#### 5") == []


@pytest.mark.parametrize(
    ("step", "result"),
    [
        ("She earns $<<80000+50000=130000>>130,000 in total.", "130000"),
        ("First 2 * 3 = <<2*3=6>>6, then 6 * 4 = <<6*4=24>>24 cookies.", "24"),
        ("Each gets 10 / 4 = <<10/4=2.5>>2.5 pies.", "2.5"),
        ("It drops to 5 - 8 = <<5-8=-3>>-3 degrees.", "-3"),
        ("A week has 7 days.", "7"),
        ("So 12 - 5 = 7 apples remain.", "7"),
        ("Add them up.", None),
        # a malformed value falls back to the visible numbers outside the annotation
        ("So <<3+4=seven>> is 7 in all.", "7"),
    ],
)
def test_step_result(step, result):
    assert step_result(step) == result
