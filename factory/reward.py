"""`reward` stage: train one step classifier (ORM, balanced ORM or SORM) from its label table."""

from __future__ import annotations

from pathlib import Path

from factory.catalogue import STEP_TABLES
from factory.params import Params
from factory.step_examples import is_holdout, read_examples


def reward(
    params: Params, *, kind: str, steps: Path, rollouts: Path, questions: Path, student: Path, out: Path
) -> dict:
    from trainers.step_classifier import train_step_classifier

    config = params.reward
    examples = read_examples(kind, steps=steps, rollouts=rollouts, questions=questions)
    held = [is_holdout(e["question_id"], share=config.holdout_share, seed=config.train.seed) for e in examples]
    stats = train_step_classifier(
        init_model=student if config.init == "student" else config.init,
        train=[e for e, h in zip(examples, held) if not h],
        holdout=[e for e, h in zip(examples, held) if h],
        params=config.train,
        out=out,
        surprisal=config.surprisal,
    )
    return {"kind": kind, "table": STEP_TABLES[kind], **stats}
