"""The built-in `arith` task: GSM8K-style word problems generated from a seed.

Every problem is a chain of quantities, each one arithmetic operation on the previous
quantity and a number from the question. Because the task knows that chain, it can say
for any candidate solution exactly which prefixes are still valid: the ground truth the
SORM's synthetic labels are measured against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import pyarrow as pa

from factory.catalogue import SCHEMAS
from factory.params import TaskParams
from factory.prompts import solution_text
from factory.tasks import answers
from factory.tasks.task import Task
from factory.tasks.calculator import evaluate

PEOPLE = {
    "Ava": "she", "Ben": "he", "Chloe": "she", "Dev": "he", "Emma": "she", "Finn": "he",
    "Grace": "she", "Hugo": "he", "Isla": "she", "Jack": "he", "Kira": "she", "Leo": "he",
    "Maya": "she", "Noah": "he", "Olga": "she", "Priya": "she", "Ravi": "he", "Sam": "he",
}


@dataclass(frozen=True)
class Theme:
    """The story around one chain: how the first quantity arises and how it changes."""

    item: str
    start: str  # {name} {a} {b} {item}: a groups of b items
    gain: str  # {pronoun} {n} {item}
    loss: str


THEMES = (
    Theme("cookies", "{name} bakes {a} trays of cookies with {b} cookies on each tray.",
          "Then {pronoun} bakes {n} more cookies.", "{Pronoun} eats {n} of the cookies."),
    Theme("books", "{name} has {a} shelves with {b} books on each shelf.",
          "{Pronoun} buys {n} more books.", "{Pronoun} donates {n} books to the library."),
    Theme("marbles", "{name} has {a} bags of marbles with {b} marbles in each bag.",
          "A friend gives {object} {n} more marbles.", "{Pronoun} loses {n} marbles."),
    Theme("stamps", "{name} buys {a} sheets of stamps with {b} stamps on each sheet.",
          "{Pronoun} finds {n} more stamps in a drawer.", "{Pronoun} uses {n} stamps on letters."),
    Theme("apples", "{name} picks {a} baskets of apples with {b} apples in each basket.",
          "{Pronoun} picks {n} more apples.", "{Pronoun} sells {n} of the apples."),
    Theme("dollars", "{name} works {a} days and earns ${b} each day.",
          "{Pronoun} gets a ${n} bonus.", "{Pronoun} spends ${n} on a jacket."),
)


def _money(theme: Theme, value: int) -> str:
    return f"${value}" if theme.item == "dollars" else f"{value} {theme.item}"


# How each kind of step is worded, with how often: like GSM8K's, the reference solutions say
# the same thing in more than one way, so a solution's likelihood mixes wording with correctness.
WORDINGS = {
    "start": ((6, "{name} has {calc}."), (3, "{Pronoun} starts with {calc}."), (1, "At first {name} has {calc}.")),
    "gain": ((6, "Then {pronoun} has {calc}."), (3, "After that {pronoun} has {calc}."),
             (1, "Now {name} has {calc} in total.")),
    "loss": ((6, "So {pronoun} has {calc} left."), (3, "{Pronoun} is left with {calc}."),
             (1, "That leaves {object} {calc}.")),
    "times": ((6, "Now {pronoun} has {calc}."), (3, "Then {pronoun} has {calc}."), (1, "That makes {calc}.")),
    "share": ((6, "Each friend gets {calc}."), (3, "So each friend gets {calc}."),
              (1, "That is {calc} for each friend.")),
}


def _step(rng: random.Random, kind: str, words: dict, unit: str, item: str, left: int, op: str, right: int,
          result: int) -> str:
    weights, templates = zip(*WORDINGS[kind])
    template = rng.choices(templates, weights=weights)[0]
    calc = f"{unit}{left} {op} {right} = <<{left}{op}{right}={result}>>{result}{'' if unit else ' ' + item}"
    return template.format(calc=calc, **words)


def generate_problem(rng: random.Random, params: TaskParams) -> tuple[str, list[str], int]:
    """One problem: (question text, reference steps, answer)."""
    name = rng.choice(sorted(PEOPLE))
    pronoun = PEOPLE[name]
    words = {"name": name, "pronoun": pronoun, "Pronoun": pronoun.capitalize(),
             "object": "her" if pronoun == "she" else "him"}
    theme = rng.choice(THEMES)
    n_steps = rng.randint(params.min_steps, params.max_steps)
    kind = "start"
    a, b = rng.randint(2, params.max_factor), rng.randint(3, params.max_operand)
    value = a * b
    sentences = [theme.start.format(a=a, b=b, **words)]
    unit = "$" if theme.item == "dollars" else ""
    steps = [_step(rng, "start", words, unit, theme.item, a, "*", b, value)]
    for index in range(1, n_steps):
        last = index == n_steps - 1
        divisors = [k for k in range(2, params.max_factor + 1) if value % k == 0]
        kind = rng.choice(["gain", "loss", "share"] if last and divisors else ["gain", "loss", "times"])
        if kind == "gain" or (kind == "loss" and value <= 2):
            n = rng.randint(2, params.max_operand)
            sentences.append(theme.gain.format(n=n, **words))
            new = value + n
            steps.append(_step(rng, "gain", words, unit, theme.item, value, "+", n, new))
        elif kind == "loss":
            n = rng.randint(1, min(params.max_operand, value - 1))
            sentences.append(theme.loss.format(n=n, **words))
            new = value - n
            steps.append(_step(rng, "loss", words, unit, theme.item, value, "-", n, new))
        elif kind == "times":
            k = rng.randint(2, 3)
            sentences.append(f"Later {pronoun} ends up with {k} times as many {theme.item}.")
            new = value * k
            steps.append(_step(rng, "times", words, unit, theme.item, value, "*", k, new))
        else:
            k = rng.choice(divisors)
            sentences.append(f"{words['Pronoun']} shares the {theme.item} equally among {k} friends.")
            new = value // k
            steps.append(_step(rng, "share", words, unit, theme.item, value, "/", k, new))
        value = new
    if kind == "share":
        ask = "How much money does each friend get?" if unit else f"How many {theme.item} does each friend get?"
    else:
        ask = f"How much money does {name} have now?" if unit else f"How many {theme.item} does {name} have now?"
    return " ".join(sentences + [ask]), steps, value


def step_is_valid(step: str, true_values: set[str], usable: set[str]) -> bool:
    """A step is valid if its calculator annotation is computed correctly, uses only known
    quantities, produces a true intermediate quantity, and shows that quantity after `>>`."""
    annotations = list(answers.CALCULATOR.finditer(step))
    if not annotations:
        return False
    match = annotations[-1]
    expression, claimed = match.group(1), answers.normalise_number(match.group(2))
    value = evaluate(expression)
    if value is None or claimed is None or Fraction(claimed) != value:
        return False
    operands = answers.numbers_in(expression.replace("-", " "))
    if claimed not in true_values or not set(operands) <= usable:
        return False
    shown = answers.numbers_in(step[match.end():])
    return not shown or shown[0] == claimed


def prefix_validity(question: str, reference_steps: list[str], steps: list[str]) -> list[bool]:
    """For each i, whether steps 1..i all compute true intermediate quantities correctly."""
    true_values = {answers.step_result(step) for step in reference_steps} - {None}
    usable = true_values | set(answers.numbers_in(question))
    valid, result = True, []
    for step in steps:
        valid = valid and step_is_valid(step, true_values, usable)
        result.append(valid)
    return result


class ArithTask(Task):
    name = "arith"

    def __init__(self, params: TaskParams) -> None:
        self.params = params

    def _problems(self) -> dict[str, list[tuple[str, list[str], int]]]:
        rng = random.Random(f"arith:{self.params.seed}")
        seen: set[str] = set()
        splits: dict[str, list[tuple[str, list[str], int]]] = {}
        for split, size in (("train", self.params.n_train), ("test", self.params.n_test)):
            problems = splits.setdefault(split, [])
            attempts = 0
            while len(problems) < size:
                attempts += 1
                if attempts > 50 * size:
                    raise ValueError("arith: too few distinct problems for these knobs; raise max_operand")
                problem = generate_problem(rng, self.params)
                if problem[0] not in seen:  # a test question never repeats a train question
                    seen.add(problem[0])
                    problems.append(problem)
        return splits

    def load(self, split: str) -> pa.Table:
        if split not in ("train", "test"):
            raise ValueError(f"arith has splits train and test, not {split!r}")
        problems = self._problems()[split]
        return pa.table(
            {
                "question_id": [f"arith-{split}-{i:05d}" for i in range(len(problems))],
                "split": [split] * len(problems),
                "question": [question for question, _, _ in problems],
                "answer": [str(answer) for _, _, answer in problems],
                "solution": [steps for _, steps, _ in problems],
            },
            schema=SCHEMAS["questions"],
        )

    def fresh_problems(self, n: int, *, seed: int, exclude: set[str]) -> list[tuple[str, str]]:
        """(question, solution text) of `n` distinct problems drawn with `seed`, none in `exclude`:
        a pretraining corpus that never contains an evaluated question."""
        rng = random.Random(f"arith-pretrain:{seed}")
        seen, problems = set(exclude), []
        attempts = 0
        while len(problems) < n:
            attempts += 1
            if attempts > 50 * n:
                raise ValueError("arith: too few distinct problems for base.pretrain.problems; raise max_operand")
            question, steps, answer = generate_problem(rng, self.params)
            if question not in seen:
                seen.add(question)
                problems.append((question, solution_text(steps, str(answer))))
        return problems

    def prefix_validity(self, question: str, reference_steps: list[str], steps: list[str]) -> list[bool]:
        return prefix_validity(question, reference_steps, steps)
