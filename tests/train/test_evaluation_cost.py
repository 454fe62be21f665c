"""Evaluation as often as selection needs: validation after every `val_every`-th epoch and the
last (which the rank choice reads), the test set once, on the final weights."""

import dataclasses
import json

import pytest

from lrlc.experiments.config import recorded_precision
from lrlc.experiments.records import load_run_model
from lrlc.experiments.run import train
from lrlc.experiments.run import trainer as train_mod

from .test_train import tiny


@pytest.fixture(scope="module")
def mnist_tiny(mnist_small):
    """256 training images: these tests count evaluation passes, not accuracy."""
    return dataclasses.replace(mnist_small, train=tuple(t[:256] for t in mnist_small.train))


@pytest.mark.parametrize("val_every, validated", [(0, [3]), (1, [1, 2, 3]), (2, [2, 3])])
def test_validation_epochs_and_one_test_pass(mnist_tiny, tmp_path, monkeypatch, val_every,
                                             validated):  # fmt: skip
    passes = []
    real = train_mod._evaluate_split

    def counting(run, split):
        passes.append(split)
        return real(run, split)

    monkeypatch.setattr(train_mod, "_evaluate_split", counting)
    config = tiny(model="conv", epochs=3, val_every=val_every, width=8)
    result = train(config, tmp_path, data=mnist_tiny, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if "val_acc" in r] == validated
    # One pass per validated epoch, then the training split and the test set once each: the
    # last validation is the final weights' own, so the result reuses it.
    assert passes == ["val"] * len(validated) + ["train", "test"]
    assert result["metrics"]["val_acc"] == rows[-1]["val_acc"]
    assert result["metrics"]["val_loss"] == rows[-1]["val_loss"]


def test_the_reused_validation_is_what_a_fresh_pass_gives(mnist_tiny, tmp_path):
    config = tiny(model="conv", epochs=1, val_every=0, width=8)
    result = train(config, tmp_path, data=mnist_tiny, progress=False)
    model, _ = load_run_model(tmp_path)
    # The precision the run trained and validated in ("auto" is bf16 where the CPU has it).
    device = train_mod.resolve_device(None)
    plan = train_mod.plan_execution(recorded_precision(result), device, None)
    loss, acc = train_mod.evaluate(model, *mnist_tiny.val, config, plan)
    assert acc == result["metrics"]["val_acc"]
    assert loss == pytest.approx(result["metrics"]["val_loss"], rel=1e-6)
