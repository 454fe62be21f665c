"""The `imagenet` protocol: torchvision's reference recipe (SGD 0.9, lr 0.1 x batch / 256,
weight decay 1e-4, 90 epochs, lr / 10 every 30, random resized crops and flips) on a streamed
folder; the `paper` protocol keeps Adam and warm-up + cosine."""

from __future__ import annotations

import json

import pytest
import torch

from lrlc.cli import main
from lrlc.experiments.config import TrainConfig
from lrlc.experiments.run.recipe import learning_rate, make_optimizer, recipe_for

from ..data.ownfakes import make_folder


def test_the_imagenet_preset_is_the_reference_recipe():
    config = TrainConfig.from_preset("imagenet")
    assert (config.epochs, config.batch_size, config.lr) == (90, 256, 0.1)
    assert (config.weight_decay, config.warmup_epochs) == (1e-4, 0)
    assert TrainConfig.from_preset("imagenet", batch_size=1024).lr == pytest.approx(0.4)
    assert TrainConfig.from_preset("imagenet", batch_size=1024, lr=0.2).lr == 0.2
    assert TrainConfig.from_preset("paper", batch_size=1024).lr == 0.01  # no scaling there
    optimizer = make_optimizer([torch.nn.Parameter(torch.zeros(2))], config)
    assert isinstance(optimizer, torch.optim.SGD)
    group = optimizer.param_groups[0]
    assert (group["momentum"], group["weight_decay"], group["nesterov"]) == (0.9, 1e-4, False)
    assert recipe_for(config).augment == "imagenet"
    paper = TrainConfig.from_preset("paper")
    assert isinstance(make_optimizer([torch.nn.Parameter(torch.zeros(2))], paper), torch.optim.Adam)
    assert recipe_for(paper).augment is None


def test_the_imagenet_schedule_divides_the_lr_by_10_every_30_epochs():
    config = TrainConfig.from_preset("imagenet")
    steps = 7  # per epoch
    lrs = {
        epoch: learning_rate(config, epoch * steps + 3, steps) for epoch in (0, 29, 30, 59, 60, 89)
    }
    assert lrs == pytest.approx({0: 0.1, 29: 0.1, 30: 0.01, 59: 0.01, 60: 0.001, 89: 0.001})
    warm = TrainConfig.from_preset("imagenet", warmup_epochs=2)
    assert learning_rate(warm, 0, steps) == pytest.approx(0.1 / 14)
    assert learning_rate(warm, 13, steps) == pytest.approx(0.1)
    paper = TrainConfig.from_preset("paper", epochs=10, warmup_epochs=1)
    assert learning_rate(paper, 6, steps) == pytest.approx(0.01)  # end of warm-up
    assert learning_rate(paper, 10 * steps - 1, steps) < 1e-4  # cosine to 0


def test_a_resnet_trains_on_a_streamed_folder_with_the_imagenet_recipe(
    tmp_path, capsys, monkeypatch, one_thread
):
    make_folder(tmp_path / "imgs", {"train": 6, "val": 2})  # ImageNet's layout: val/ is test
    monkeypatch.setenv("LRLC_DATA_DIR", str(tmp_path / "cache"))
    args = ["train", "--protocol", "imagenet", "--model", "resnet18", "--epochs", "2",
            "--batch-size", "8", "--loader-workers", "1"]  # fmt: skip
    code = main([*args, "--dataset", f"folder:{tmp_path / 'imgs'}@8", "--out", "x"])
    err = capsys.readouterr().err
    assert code == 2 and f"use --dataset folder:{tmp_path / 'imgs'}@8x8,rgb,stream" in err
    out = tmp_path / "run"
    code = main([*args, "--dataset", f"folder:{tmp_path / 'imgs'}@8,stream", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    result = json.loads((out / "result.json").read_text())
    assert result["protocol"] == "imagenet preset (reduced); epochs=2, batch_size=8, lr=0.003125"
    assert result["data_sizes"] == {"train": 16, "val": 2, "test": 6}
    assert result["metrics"]["epochs_done"] == 2
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["optimizer"]["param_groups"][0]["momentum"] == 0.9
