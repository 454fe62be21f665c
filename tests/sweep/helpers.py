"""Tiny grids and hand-made run folders for the sweep and report tests."""

import json
from pathlib import Path

import torch

from lrlc.experiments.config import TrainConfig
from lrlc.experiments.sweep import SweepGrid, run_dir


def tiny_grid(models, ranks, seeds) -> SweepGrid:
    """A grid of 1-epoch runs on 200 MNIST images with 8-channel layers."""
    base = TrainConfig.from_preset(
        "paper",
        dataset="mnist",
        model=models[0],
        train_size=200,
        width=8,
        epochs=1,
        batch_size=128,
        eval_batch_size=512,
    )
    return SweepGrid(base, list(models), list(ranks), list(seeds))


def fake_run(
    sweep: Path,
    model: str,
    rank: int,
    seed: int,
    val: float,
    test: float,
    train: float = 100.0,
    params: int = 1000,
    omega_1: dict[str, float] | None = None,
    **config,
) -> Path:
    """A hand-made finished run: runs/<id>/result.json (and a checkpoint with omega_1 values)."""
    settings = dict(dataset="mnist", epochs=3, train_size=1000)
    settings.update(config)
    c = TrainConfig.from_preset("paper", model=model, rank=rank, seed=seed, **settings)
    folder = run_dir(sweep, c)
    folder.mkdir(parents=True)
    result = {
        "config": c.to_dict(),
        "protocol": c.protocol(),
        "reduced_protocol": c.is_reduced(),
        "seed": seed,
        "data_fingerprint": "fp",
        "data_sizes": {"train": c.train_size or 55200, "val": 4800, "test": 10000},
        "params": params,
        "metrics": {"train_acc": train, "val_acc": val, "test_acc": test, "epochs_done": 3},
    }
    (folder / "result.json").write_text(json.dumps(result))
    if omega_1 is not None:
        state = {k: torch.tensor(v) for k, v in omega_1.items()}
        torch.save({"model": state}, folder / "checkpoint.pt")
    return folder
