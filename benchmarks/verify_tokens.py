"""Tokens that `verify.search: backward` spends against `exhaustive`, by how often a verifier
continuing a still-correct prefix reaches the answer.

The search code is the stage's own (factory.verify.verify_rollouts); only the student is a
model. Each incorrect rollout (2-5 steps) goes wrong at a step drawn uniformly from its steps:
a verifier continuing a prefix before that step reaches the answer, using the step's result,
with probability `p`; one continuing from the error or later is lucky with probability 0.02.
A continuation costs 30 tokens per step it has left to write. The default student is near
p = 0.15 (15% of its continuations are correct); the paper's students are much stronger.

    python benchmarks/verify_tokens.py
    python benchmarks/verify_tokens.py --rollouts 2000 --k 4 8 --p 0.15 0.3 0.5 0.7 --out tokens.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from factory.generation import Completion
from factory.params import SamplingParams, TaskParams, VerifyParams
from factory.tasks import get_task
from factory.verify import Request, verify_rollouts

ANSWER = "42"
LUCKY = 0.02  # a verifier that reaches the answer from a prefix that has already gone wrong
TOKENS_PER_STEP = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rollouts", type=int, default=2000, help="incorrect rollouts to verify")
    parser.add_argument("--k", type=int, nargs="+", default=[4, 8], help="verifiers per step (the paper's K)")
    parser.add_argument("--p", type=float, nargs="+", default=[0.15, 0.3, 0.5, 0.7],
                        help="chance that a verifier continuing a still-correct prefix reaches the answer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the report here as JSON")
    return parser.parse_args()


def incorrect_rollouts(n: int, rng: random.Random) -> list[dict]:
    rollouts = []
    for i in range(n):
        results = [str(10 + rng.randrange(90)) for _ in range(rng.randint(2, 5))]
        rollouts.append({"rollout_id": f"q{i}/0", "question_id": f"q{i}", "steps": [f"Step gives {r}." for r in results],
                         "step_results": results, "first_error": rng.randint(1, len(results))})
    return rollouts


def modelled_student(rollouts: list[dict], p: float, seed: int):
    """A sampler with one fixed continuation per (rollout, step, verifier), so that both
    searches see the same continuations and differ only in which ones they ask for."""
    by_id = {rollout["rollout_id"]: rollout for rollout in rollouts}

    def sample(requests: list[Request]) -> list[Completion]:
        completions = []
        for request in requests:
            rollout = by_id[request.rollout_id]
            draw = random.Random(f"{seed}:{request.rollout_id}:{request.step}:{request.verifier_idx}").random()
            reaches = draw < (p if request.step < rollout["first_error"] else LUCKY)
            result = rollout["step_results"][request.step - 1]
            text = f"So {result} it is.\n#### {ANSWER}" if reaches else "#### 0"
            completions.append(Completion(text, TOKENS_PER_STEP * (len(rollout["steps"]) - request.step)))
        return completions

    return sample


def tokens(rollouts: list[dict], search: str, k: int, p: float, seed: int) -> int:
    questions = {rollout["question_id"]: {"question": "How many?", "answer": ANSWER} for rollout in rollouts}
    params = VerifyParams(sampling=SamplingParams(k=k), search=search)
    rows = verify_rollouts(modelled_student(rollouts, p, seed), get_task("arith", TaskParams()), rollouts, questions,
                           params, batch_size=256, tokenizer=None, progress_bar=False)
    return sum(row["n_tokens"] for row in rows)


def main() -> None:
    args = parse_args()
    rollouts = incorrect_rollouts(args.rollouts, random.Random(args.seed))
    report = {"rollouts": args.rollouts, "lucky": LUCKY, "results": []}
    print("| K | p | exhaustive tokens | backward tokens | backward / exhaustive |")
    print("|---|---|---|---|---|")
    for k in args.k:
        for p in args.p:
            exhaustive = tokens(rollouts, "exhaustive", k, p, args.seed)
            backward = tokens(rollouts, "backward", k, p, args.seed)
            report["results"].append({"k": k, "p": p, "exhaustive": exhaustive, "backward": backward,
                                      "ratio": round(backward / exhaustive, 3)})
            print(f"| {k} | {p} | {exhaustive:,} | {backward:,} | {backward / exhaustive:.0%} |", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
