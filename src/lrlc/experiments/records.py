"""What a run folder and a sweep folder hold, and reading them back.

A run folder (`lrlc train --out DIR`, or `SWEEP/runs/<run id>/` in a sweep) holds
`checkpoint.pt` (weights, optimizer and history, rewritten each epoch), `metrics.jsonl` (one
line per epoch) and, once finished, `result.json` (config, provenance, metrics) and, for
models with fixed LRLC layers, `learned.pt` (their combining weights, small). The trainer
writes them (`lrlc.experiments.run`); sweeps, reports and the converter read them here, so no
reader depends on the trainer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..data import dataset_spec
from ..layers import LowRankLocallyConnected2d
from ..models import build_model
from .config import TrainConfig
from .files import load_checkpoint
from .progress import warn

CHECKPOINT = "checkpoint.pt"
RESULT = "result.json"
LEARNED = "learned.pt"  # the combining weights a report draws (see run/outcome.py)
METRICS = "metrics.jsonl"
RUNS = "runs"  # a sweep folder's folder of run folders
SWEEP_JSON = "sweep.json"


def read_result(path: Path) -> dict[str, Any]:
    """A result.json as a dict; ValueError naming the file if it is torn or not a record."""
    try:
        result = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is unreadable ({err})") from err
    if not isinstance(result, dict) or "config" not in result:
        raise ValueError(f"{path} is not a run record (no config)")
    return result


def finished_result(folder: Path, config: TrainConfig) -> dict[str, Any] | None:
    """The finished result of exactly `config` in a run folder, else None.

    A torn result.json (a crash mid-write elsewhere, a full disk) is named in a warning and
    counts as unfinished, so the run is trained again and its new record replaces it.
    """
    path = Path(folder) / RESULT
    if not path.exists():
        return None
    try:
        done = read_result(path)
    except (OSError, ValueError) as err:
        warn(f"{err}; the run is trained again")
        return None
    return None if config.differences(done["config"]) else done


def iter_results(
    sweep_dir: str | Path, skipped: list[Path] | None = None
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(run folder, result.json contents) for every finished run of a sweep folder.

    A record that cannot be read is named in a warning and left out, and its path appended
    to `skipped`; rerunning the sweep retrains such a run.
    """
    for path in sorted(Path(sweep_dir).glob(f"{RUNS}/*/{RESULT}")):
        try:
            result = read_result(path)
        except (OSError, ValueError) as err:
            warn(f"skipping {err}; rerun the sweep to retrain it")
            if skipped is not None:
                skipped.append(path)
            continue
        yield path.parent, result


def run_data_shape(state: dict[str, Any], config: TrainConfig) -> tuple[tuple[int, ...], int]:
    """(input shape, number of classes) of a run's data: recorded in its checkpoint (so that a
    run on your own images converts after they are gone), else from the dataset's name."""
    if "input_shape" in state and "num_classes" in state:
        return tuple(state["input_shape"]), int(state["num_classes"])
    spec = dataset_spec(config.dataset)
    return tuple(spec.input_shape), spec.num_classes


def load_run(run_dir: str | Path) -> tuple[nn.Module, TrainConfig, tuple[int, ...]]:
    """(network with the weights of its last checkpoint in eval mode, config, input shape)."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no {CHECKPOINT} in {run_dir}: is it a run folder of lrlc train?")
    state = load_checkpoint(path)
    if not isinstance(state, dict) or not {"config", "model"} <= state.keys():
        raise RuntimeError(
            f"{path} holds no config and model weights: it was not written by lrlc train"
        )
    config = TrainConfig.from_dict(state["config"])
    input_shape, num_classes = run_data_shape(state, config)
    model = build_model(
        config.model, input_shape, num_classes, config.rank, config.width,
        layer_kwargs=config.layer_kwargs,
    )  # fmt: skip
    model.load_state_dict(state["model"])
    return model.eval(), config, input_shape


def load_run_model(run_dir: str | Path) -> tuple[nn.Module, TrainConfig]:
    """The network of a run folder with the weights of its last checkpoint, in eval mode."""
    model, config, _ = load_run(run_dir)
    return model, config


def read_combining(run_dir: str | Path) -> dict[str, Tensor] | None:
    """Module name -> learned (K, H_out, W_out) combining weights of each fixed LRLC layer of a
    finished run: from `learned.pt`, else (runs that predate it) from the checkpoint; None
    when the run folder holds neither."""
    folder = Path(run_dir)
    if (folder / LEARNED).exists():
        return dict(load_checkpoint(folder / LEARNED)["combining"])
    if not (folder / CHECKPOINT).exists():
        return None
    return fixed_combining_weights(load_run_model(folder)[0])


def fixed_combining_weights(model: nn.Module) -> dict[str, Tensor]:
    """Module name -> (K, H_out, W_out) weights of every fixed-combining LRLC layer."""
    with torch.no_grad():
        return {
            name: m.combining_weights().detach().float().cpu().contiguous()
            for name, m in model.named_modules()
            if isinstance(m, LowRankLocallyConnected2d) and not m.input_dependent
        }
