"""A stage holds at most one generation engine at a time, and none while it trains: on a GPU a
vLLM engine reserves most of the memory and refuses to start while another holds it.

The hf backend is replaced by a counting stand-in: an engine is alive from its construction
until its `close()`. ei and evaluate generate with the scripted student; refine-drafts with the
real hf backend on the tiny model, so its outputs are also checked against refining one draft
at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from scripted_generator import ScriptedGenerator
from tiny_params import TINY_PARAMS
from typer.testing import CliRunner

import factory.generation.hf as hf
from factory.catalogue import SCHEMAS
from factory.cli import app

PARAMS = {**TINY_PARAMS, "task": {**TINY_PARAMS["task"], "n_train": 16, "n_test": 6, "n_dev": 3},
          "generator": {"backend": "hf", "batch_size": 4},
          "ei": {**TINY_PARAMS["ei"], "max_rounds": 2, "min_improvement": -1.0, "train": {"max_steps": 1, "batch_size": 8}},
          "drafts": {"max_new_tokens": 24},
          "evaluate": {"bo": 2, "max_new_tokens": 24, "bootstrap_resamples": 20, "sampling": {"k": 2, "max_new_tokens": 24}}}


class Ledger:
    """Engines started and alive; the most alive at once, and alive while training."""

    def __init__(self) -> None:
        self.started = self.alive = self.most_alive = 0
        self.alive_in_training: list[int] = []

    def engine(self, inner):
        ledger = self
        ledger.started += 1
        ledger.alive += 1
        ledger.most_alive = max(ledger.most_alive, ledger.alive)

        class Counted:
            dtype = "float32"

            def generate(self, prompts, **options):
                return inner.generate(prompts, **options)

            def close(self):
                ledger.alive -= 1
                getattr(inner, "close", lambda: None)()

        return Counted()


@pytest.fixture
def ledger(monkeypatch) -> Ledger:
    import trainers.causal_lm

    ledger = Ledger()
    train = trainers.causal_lm.train_causal_lm

    def counted_training(**kwargs):
        ledger.alive_in_training.append(ledger.alive)
        return train(**kwargs)

    monkeypatch.setattr(trainers.causal_lm, "train_causal_lm", counted_training)
    return ledger


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lifecycle")
    (folder / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    invoke("prepare", "--params", str(folder / "params.yaml"), "--out", str(folder / "questions.parquet"),
           "--metrics", str(folder / "prepare.json"))
    return folder


def invoke(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output[-2000:]


def scripted(folder: Path, ledger: Ledger, monkeypatch) -> None:
    questions = pq.read_table(folder / "questions.parquet").to_pylist()
    monkeypatch.setattr(hf, "HFGenerator", lambda path, batch_size=64, **_: ledger.engine(ScriptedGenerator(questions)))


def test_expert_iteration_releases_each_engine_before_training_and_before_the_next(folder, tiny_model, ledger,
                                                                                   monkeypatch, tmp_path):
    scripted(folder, ledger, monkeypatch)
    invoke("ei", "--params", str(folder / "params.yaml"), "--base-model", str(tiny_model), "--sft-model",
           str(tiny_model), "--questions", str(folder / "questions.parquet"), "--out", str(tmp_path / "student"),
           "--metrics", str(tmp_path / "ei.json"))
    summary = json.loads((tmp_path / "ei.json").read_text())
    # dev score of the SFT model, then per round: sampling, training, the round model's dev score
    assert len(summary["rounds"]) == 3 and ledger.started == 5
    assert ledger.alive_in_training == [0, 0]
    assert ledger.most_alive == 1 and ledger.alive == 0
    assert summary["dtype"] == "float32"


def test_evaluate_runs_its_engines_one_after_another(folder, tiny_model, ledger, monkeypatch, tmp_path):
    import factory.evaluate
    from factory.evaluate import Models, evaluate
    from factory.params_file import parse_params

    scripted(folder, ledger, monkeypatch)
    drafts = tmp_path / "drafts.parquet"
    invoke("drafts", "--params", str(folder / "params.yaml"), "--model", str(tiny_model), "--questions",
           str(folder / "questions.parquet"), "--out", str(drafts), "--metrics", str(tmp_path / "drafts.json"))
    ledger.__init__()
    classifiers = step_classifiers(tiny_model, tmp_path)
    read = factory.evaluate.read_table
    # the label-quality inputs play no part in generation
    monkeypatch.setattr(factory.evaluate, "read_table",
                        lambda name, path: SCHEMAS[name].empty_table() if name in ("rollouts", "sorm_labels")
                        else read(name, path))
    monkeypatch.setattr(factory.evaluate, "label_quality", lambda *_: None)
    models = Models(student=tiny_model, orm=classifiers, orm_balanced=classifiers, sorm=classifiers,
                    refiner_global=tiny_model, refiner_local=tiny_model, refiner_value=tiny_model)
    result = evaluate(parse_params(PARAMS), questions=folder / "questions.parquet", drafts=drafts,
                      rollouts=drafts, sorm_labels=drafts, models=models)
    assert ledger.started == 4  # student samples, global, local and value refiner
    assert ledger.most_alive == 1 and ledger.alive == 0
    assert result["dtype"] == "float32"


def step_classifiers(tiny_model: Path, tmp_path: Path) -> Path:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    out = tmp_path / "classifier"
    AutoModelForTokenClassification.from_pretrained(tiny_model, num_labels=2).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(out)
    return out


def test_refine_drafts_runs_all_global_refinements_then_all_local_ones(tiny_model, ledger, monkeypatch, tmp_path):
    real = hf.HFGenerator
    calls: list[str] = []

    def engine(path, batch_size=64, **options):
        calls.append(Path(path).name)
        return ledger.engine(real(path, batch_size=batch_size, **options))

    monkeypatch.setattr(hf, "HFGenerator", engine)
    classifiers = step_classifiers(tiny_model, tmp_path)
    local = tmp_path / "local"
    local.symlink_to(tiny_model, target_is_directory=True)
    lines = [{"question": f"Ann has {n} cats and {n + 2} dogs. How many pets?",
              "draft": f"She has {n} + {n + 2} = <<{n}+{n + 2}={2 * n + 1}>>{2 * n + 1} pets.\n#### {2 * n + 1}"}
             for n in range(5)]
    source = tmp_path / "drafts.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    options = ["--orm", str(classifiers), "--sorm", str(classifiers), "--global-refiner", str(tiny_model),
               "--local-refiner", str(local), "--max-new-tokens", "12", "--threshold", "1.0", "--backend", "hf"]
    invoke("refine-drafts", str(source), "--output", str(tmp_path / "all.jsonl"), "--batch-size", "2", *options)
    assert calls == [tiny_model.name, "local"]  # two engines over three batches, one after the other
    assert ledger.most_alive == 1 and ledger.alive == 0
    # the order of work changed, the refinements did not: a file of the first batch alone gives its lines
    pair, one = tmp_path / "pair.jsonl", tmp_path / "one.jsonl"
    pair.write_text("".join(json.dumps(line) + "\n" for line in lines[:2]))
    invoke("refine-drafts", str(pair), "--output", str(one), "--batch-size", "2", *options)
    assert (tmp_path / "all.jsonl").read_text().splitlines()[:2] == one.read_text().splitlines()
