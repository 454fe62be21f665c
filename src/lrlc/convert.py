"""Inference conversion: each fixed-weight LRLC layer of a trained net becomes the exact
`LocallyConnected2d` it equals (paper section 3.2.1: at inference the LC layer costs one
convolution's multiply-adds, where Algorithm 1 costs K)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import DATASETS
from .layers import LowRankLocallyConnected2d
from .models import build_model
from .train import CHECKPOINT


def convert_model(model: nn.Module) -> tuple[nn.Module, int]:
    """A copy of `model` with each fixed-combining LRLC layer replaced by its LC equivalent.

    Input-dependent layers stay as they are (their weights change with every input). Returns
    the copy and the number of layers converted.
    """
    model = copy.deepcopy(model)
    converted = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LowRankLocallyConnected2d) and not child.input_dependent:
                setattr(parent, name, child.to_locally_connected())
                converted += 1
    return model, converted


def load_run_model(run_dir: str | Path) -> tuple[nn.Module, TrainConfig]:
    """The network of a run folder with the weights of its last checkpoint, in eval mode."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no {CHECKPOINT} in {run_dir}: is it a run folder of lrlc train?")
    state = load_checkpoint(path)
    config = TrainConfig.from_dict(state["config"])
    spec = DATASETS[config.dataset]
    model = build_model(
        config.model, spec.input_shape, spec.num_classes, config.rank, config.width,
        layer_kwargs=config.layer_kwargs,
    )  # fmt: skip
    model.load_state_dict(state["model"])
    return model.eval(), config


@torch.no_grad()
def convert_run(run_dir: str | Path, out: str | Path, batch: int = 8) -> dict[str, Any]:
    """Convert a trained run for inference, check it on a random batch, and save it.

    Writes {"config", "model" (state dict of the converted net), "max_abs_diff"} to `out`.
    """
    model, config = load_run_model(run_dir)
    converted, n = convert_model(model)
    shape = DATASETS[config.dataset].input_shape
    x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))
    diff = (converted(x) - model(x)).abs().max().item()
    info = {"config": config.to_dict(), "layers_converted": n, "max_abs_diff": diff}
    save_checkpoint(Path(out), {**info, "model": converted.state_dict()})
    return info
