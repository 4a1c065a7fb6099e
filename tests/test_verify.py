"""The verify stage's search: backward and exhaustive give the same labels with a sampler that
is deterministic per (rollout, step, verifier), and backward spends fewer tokens."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from factory.catalogue import SCHEMAS
from factory.generation import Completion
from factory.label import label
from factory.params import LabelParams, SamplingParams, TaskParams, VerifyParams
from factory.tasks import get_task
from factory.verifiers import Request, generator_sampler, verify_rollouts
from factory.verify import drawn_questions
from factory.verify import incorrect_rollouts as incorrect_rollouts_of

TASK = get_task("arith", TaskParams())
ANSWER = "50"


def keyed_continuation(request: Request, step_result: str | None) -> Completion:
    """A fixed continuation per (rollout, step, verifier): correct and using the step's result,
    correct without it (rule 2 must ignore it), or wrong."""
    digest = hashlib.sha256(f"{request.rollout_id}:{request.step}:{request.verifier_idx}".encode()).digest()
    kind = digest[0] % 10
    if kind < 2:
        text = f"Then she has {step_result or 7} + 1 = <<{step_result or 7}+1=8>>8 cookies.\n#### {ANSWER}"
    elif kind < 4:
        text = f"#### {ANSWER}"
    else:
        text = f"Then she has 3 * 4 = <<3*4=12>>12 cookies.\n#### {40 + kind}"
    return Completion(text, n_tokens=len(text) // 3)


def incorrect_rollouts(n: int) -> list[dict]:
    rng = random.Random(0)
    rollouts = []
    for i in range(n):
        length = rng.randint(1, 5)
        results = [None if rng.random() < 0.2 else str(rng.randint(10, 99)) for _ in range(length)]
        rollouts.append({
            "rollout_id": f"q{i % 7}/{i}", "question_id": f"q{i % 7}", "sample_idx": i,
            "steps": [f"Step {j} of {i} gives {r}." for j, r in enumerate(results, start=1)],
            "step_results": results, "final_answer": "1", "is_correct": False, "n_tokens": 30,
        })
    return rollouts


class KeyedSampler:
    """Deterministic per (rollout, step, verifier); records every batch it is given."""

    def __init__(self, rollouts: list[dict]) -> None:
        self.results = {r["rollout_id"]: r["step_results"] for r in rollouts}
        self.batches: list[list[Request]] = []

    def __call__(self, requests):
        self.batches.append(list(requests))
        return [keyed_continuation(r, self.results[r.rollout_id][r.step - 1]) for r in requests]


def run(search: str, rollouts: list[dict], folder: Path, *, batch_size: int = 16) -> tuple[list[dict], KeyedSampler]:
    sampler = KeyedSampler(rollouts)
    questions = {f"q{i}": {"question": f"Question {i}?", "answer": ANSWER} for i in range(7)}
    params = VerifyParams(sampling=SamplingParams(k=4), search=search)
    rows = verify_rollouts(sampler, TASK, rollouts, questions, params, batch_size=batch_size, tokenizer=None)
    correct = {**rollouts[0], "rollout_id": "q0/correct", "sample_idx": 1000, "steps": ["Step 1 gives 50."],
               "step_results": ["50"], "final_answer": ANSWER, "is_correct": True}
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist([*rollouts, correct], schema=SCHEMAS["rollouts"]), folder / "rollouts.parquet")
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS["verifications"]), folder / "verifications.parquet")
    label(LabelParams(), rollouts=folder / "rollouts.parquet", verifications=folder / "verifications.parquet",
          out_dir=folder, value_pairs=search == "exhaustive")
    return rows, sampler


def test_backward_and_exhaustive_give_identical_labels_and_local_pairs(tmp_path):
    rollouts = incorrect_rollouts(60)
    exhaustive, _ = run("exhaustive", rollouts, tmp_path / "exhaustive")
    backward, sampler = run("backward", rollouts, tmp_path / "backward")

    def table(search, name, columns):
        return pq.read_table(tmp_path / search / f"{name}.parquet", columns=columns).to_pylist()

    labels = ["rollout_id", "step", "label"]
    assert table("backward", "sorm_labels", labels) == table("exhaustive", "sorm_labels", labels)
    assert table("backward", "refine_local", None) == table("exhaustive", "refine_local", None)
    # the labels are not trivial: both classes, and positives found below the last step
    values = [row["label"] for row in table("exhaustive", "sorm_labels", labels)]
    assert 0.2 < sum(values) / len(values) < 0.8
    # every backward continuation is the exhaustive one for its key: a subset of the work
    key = lambda row: (row["rollout_id"], row["step"], row["verifier_idx"])  # noqa: E731
    assert {key(row): row for row in exhaustive}.items() >= {key(row): row for row in backward}.items()
    tokens = {name: sum(row["n_tokens"] for row in rows) for name, rows in (("e", exhaustive), ("b", backward))}
    assert tokens["b"] < tokens["e"]
    # backward rounds carry at most one request per rollout, batched across rollouts
    assert all(len(batch) <= 16 for batch in sampler.batches)
    assert max(len(batch) for batch in sampler.batches) == 16


def test_exhaustive_verifies_every_step_but_the_last_with_all_k(tmp_path):
    rollouts = incorrect_rollouts(10)
    rows, sampler = run("exhaustive", rollouts, tmp_path / "exhaustive", batch_size=8)
    expected = {(r["rollout_id"], step, v) for r in rollouts for step in range(1, len(r["steps"])) for v in range(4)}
    assert {(row["rollout_id"], row["step"], row["verifier_idx"]) for row in rows} == expected
    assert len(rows) == len(expected) and all(len(batch) <= 8 for batch in sampler.batches)
    # the prompt is the question and the prefix P_step
    request = sampler.batches[0][0]
    rollout = next(r for r in rollouts if r["rollout_id"] == request.rollout_id)
    assert request.prompt.endswith("".join(f"{s}\n" for s in rollout["steps"][: request.step]))


class RecordingGenerator:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def generate(self, prompts, *, n, temperature, top_p, max_new_tokens, seed):
        self.calls.append({"prompts": list(prompts), "n": n, "seed": seed, "max_new_tokens": max_new_tokens})
        return [[Completion(f"{prompt}|{seed}", 3)] for prompt in prompts]


def test_the_generator_sampler_asks_one_continuation_per_request_with_a_seed_per_call():
    sampling = SamplingParams(k=4, max_new_tokens=20, seed=5)
    requests = [Request("q/0", 1, v, f"prompt {v}") for v in range(3)]
    first, again = RecordingGenerator(), RecordingGenerator()
    for generator in (first, again):
        sample = generator_sampler(generator, sampling)
        assert [c.text.split("|")[0] for c in sample(requests)] == ["prompt 0", "prompt 1", "prompt 2"]
        sample(requests[:1])
    assert [call["n"] for call in first.calls] == [1, 1]
    assert first.calls[0]["seed"] != first.calls[1]["seed"]
    assert first.calls == again.calls  # a rerun makes the same calls with the same seeds


def test_whole_questions_are_drawn_at_random_up_to_the_cap(tmp_path):
    rows = incorrect_rollouts(70)  # 7 questions, 10 incorrect rollouts each
    rows += [{**rows[0], "rollout_id": "q0/correct", "is_correct": True}]
    path = tmp_path / "rollouts.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS["rollouts"]), path)
    drawn = drawn_questions(path, 35, seed=0)
    # whole questions only: three of ten fit in 35, the correct rollout is not counted
    assert sorted(drawn.values()) == [10, 10, 10]
    chosen = list(incorrect_rollouts_of(path, drawn))
    assert {r["question_id"] for r in chosen} == set(drawn) and len(chosen) == 30
    assert drawn_questions(path, 35, seed=0) == drawn
    assert any(drawn_questions(path, 35, seed=seed) != drawn for seed in range(1, 6))
    assert drawn_questions(path, 0, seed=0) is None
