"""Inference conversion: each fixed-weight LRLC layer of a trained net becomes the exact
`LocallyConnected2d` it equals (paper section 3.2.1: at inference the LC layer costs one
convolution's multiply-adds, where Algorithm 1 costs K)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import DATASETS
from .layers import LowRankLocallyConnected2d
from .models import build_model
from .train import CHECKPOINT, METRICS, RESULT


@dataclass
class Conversion:
    """What `convert_model_layers` did: the LRLC layers it found, by module name."""

    converted: list[str] = field(default_factory=list)
    #: name -> why the layer stays an LRLC layer (input-dependent ones have no LC equivalent)
    kept: dict[str, str] = field(default_factory=dict)
    input_dependent: list[str] = field(default_factory=list)

    @property
    def lrlc_layers(self) -> int:
        return len(self.converted) + len(self.kept)

    def found(self) -> str:
        """E.g. '3 LRLC layer(s): 2 fixed, 1 input-dependent'."""
        if not self.lrlc_layers:
            return "no LRLC layers"
        fixed = self.lrlc_layers - len(self.input_dependent)
        return (
            f"{self.lrlc_layers} LRLC layer(s): {fixed} fixed, "
            f"{len(self.input_dependent)} input-dependent"
        )

    def kept_text(self) -> str:
        """One clause per kept layer, e.g. 'features.0 (input-dependent combining ...)'."""
        return "; ".join(f"{name} ({why})" for name, why in self.kept.items())


def convert_model_layers(model: nn.Module) -> tuple[nn.Module, Conversion]:
    """A copy of `model` with each fixed-combining LRLC layer replaced by its LC equivalent,
    and which layers were converted and which were kept (and why).

    Input-dependent layers stay as they are: their weights change with every input.
    """
    model = copy.deepcopy(model)
    done = Conversion()
    for name, child in list(model.named_modules()):
        if not isinstance(child, LowRankLocallyConnected2d):
            continue
        if child.input_dependent:
            done.input_dependent.append(name)
            done.kept[name] = (
                "input-dependent: its combining weights change with every input, so it has no "
                "fixed locally connected equivalent"
            )
            continue
        try:
            lc = child.to_locally_connected()
        except ValueError as err:
            done.kept[name] = str(err)
            continue
        parent, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent), attr, lc)
        done.converted.append(name)
    return model, done


def convert_model(model: nn.Module) -> tuple[nn.Module, int]:
    """A copy of `model` with each fixed-combining LRLC layer replaced by its LC equivalent.

    Input-dependent layers stay as they are (their weights change with every input). Returns
    the copy and the number of layers converted; `convert_model_layers` says which.
    """
    model, done = convert_model_layers(model)
    return model, len(done.converted)


class NothingToConvertError(ValueError):
    """A run has no LRLC layer with a fixed locally connected equivalent."""


def load_run_model(run_dir: str | Path) -> tuple[nn.Module, TrainConfig]:
    """The network of a run folder with the weights of its last checkpoint, in eval mode."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no {CHECKPOINT} in {run_dir}: is it a run folder of lrlc train?")
    state = load_checkpoint(path)
    if not isinstance(state, dict) or not {"config", "model"} <= state.keys():
        raise RuntimeError(
            f"{path} holds no config and model weights: it was not written by lrlc train"
        )
    config = TrainConfig.from_dict(state["config"])
    spec = DATASETS[config.dataset]
    model = build_model(
        config.model, spec.input_shape, spec.num_classes, config.rank, config.width,
        layer_kwargs=config.layer_kwargs,
    )  # fmt: skip
    model.load_state_dict(state["model"])
    return model.eval(), config


def _check_out(run_dir: Path, out: Path) -> None:
    """Refuse an `out` that would replace a folder or one of the run's own records."""
    if out.is_dir():
        raise IsADirectoryError(
            f"{out} is a folder, and the converted net is written to a file: give a file path, "
            f"e.g. {out / 'converted.pt'}"
        )
    for name in (CHECKPOINT, RESULT, METRICS):
        record = run_dir / name
        same = out.resolve() == record.resolve()
        if not same and out.exists() and record.exists():
            same = os.path.samefile(out, record)
        if same:
            raise ValueError(
                f"{out} is the run's own {name}, which converting would overwrite; write the "
                f"converted net to another file, e.g. {run_dir / 'converted.pt'}"
            )


@torch.no_grad()
def convert_run(run_dir: str | Path, out: str | Path, batch: int = 8) -> dict[str, Any]:
    """Convert a trained run for inference, check it on a random batch, and save it.

    Writes {"config", "model" (state dict of the converted net), "max_abs_diff", and which
    layers were converted or kept} to `out`, replacing an existing file there. Raises
    NothingToConvertError, writing nothing, when no layer can be converted.
    """
    run_dir, out = Path(run_dir), Path(out)
    _check_out(run_dir, out)
    model, config = load_run_model(run_dir)
    converted, done = convert_model_layers(model)
    if not done.converted:
        why = f"; kept: {done.kept_text()}" if done.kept else ""
        raise NothingToConvertError(
            f"nothing to convert in {run_dir}: model {config.model} has {done.found()}{why}. "
            f"Only LRLC layers with fixed combining weights convert; {out} was not written"
        )
    shape = DATASETS[config.dataset].input_shape
    x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))
    diff = (converted(x) - model(x)).abs().max().item()
    info = {
        "config": config.to_dict(),
        "lrlc_layers": done.lrlc_layers,
        "input_dependent_layers": len(done.input_dependent),
        "layers_converted": len(done.converted),
        "converted": done.converted,
        "kept": done.kept,
        "found": done.found(),
        "max_abs_diff": diff,
    }
    save_checkpoint(out, {**info, "model": converted.state_dict()})
    return info
