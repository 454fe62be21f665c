"""`lrlc convert`: a trained run's net in its inference form (`lrlc.inference`), checked on a
batch and saved beside nothing it could overwrite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ...inference import Conversion, convert_model, convert_model_layers
from ..files import save_checkpoint
from ..records import CHECKPOINT, METRICS, RESULT, load_run, load_run_model

__all__ = [
    "Conversion",
    "NothingToConvertError",
    "convert_model",
    "convert_model_layers",
    "convert_run",
    "load_run_model",
]


class NothingToConvertError(ValueError):
    """A run has no LRLC layer with a fixed locally connected equivalent."""


def check_out(run_dir: Path, out: Path) -> None:
    """Refuse an `out` that would replace a folder or one of the run's own records."""
    if out.is_dir():
        raise IsADirectoryError(
            f"{out} is a folder, and the net is written to a file: give a file path, "
            f"e.g. {out / 'converted.pt'}"
        )
    for name in (CHECKPOINT, RESULT, METRICS):
        record = run_dir / name
        same = out.resolve() == record.resolve()
        if not same and out.exists() and record.exists():
            same = os.path.samefile(out, record)
        if same:
            raise ValueError(
                f"{out} is the run's own {name}, which this would overwrite; write the "
                f"net to another file, e.g. {run_dir / 'converted.pt'}"
            )


@torch.no_grad()
def convert_run(run_dir: str | Path, out: str | Path, batch: int = 8) -> dict[str, Any]:
    """Convert a trained run for inference, check it on a random batch, and save it.

    Writes {"config", "model" (state dict of the converted net), "max_abs_diff", and which
    layers were converted or kept} to `out`, replacing an existing file there. Raises
    NothingToConvertError, writing nothing, when no layer can be converted.
    """
    run_dir, out = Path(run_dir), Path(out)
    check_out(run_dir, out)
    model, config, shape = load_run(run_dir)
    converted, done = convert_model_layers(model)
    if not done.converted:
        why = f"; kept: {done.kept_text()}" if done.kept else ""
        raise NothingToConvertError(
            f"nothing to convert in {run_dir}: model {config.model} has {done.found()}{why}. "
            f"Only LRLC layers with fixed combining weights convert; {out} was not written"
        )
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
