"""What a finished run leaves in its folder besides its checkpoint: the record of result.json
(config, provenance, how it ran, final metrics) and `learned.pt`, the learned quantities its
report draws, small enough to commit where checkpoints are not (a locally connected run's
checkpoint is ~200 MB; this file a few KB): each fixed-combining LRLC layer's normalised
combining weights w_k(i, j) (Eq. 3, normalised over k by Eq. 4), by module name. Both are read
back through `lrlc.experiments.records`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import nn

from ...data import Dataset, StreamedDataset
from ...functional import measured_paths
from ..config import TrainConfig
from ..files import save_checkpoint
from ..machine import ExecutionPlan
from ..provenance import environment, git_commit
from ..records import LEARNED, fixed_combining_weights
from .device import describe_device
from .distributed import Processes


def result_record(
    config: TrainConfig,
    data: Dataset | StreamedDataset,
    model: nn.Module,
    plan: ExecutionPlan,
    processes: Processes,
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """The result.json of a finished run: everything needed to trace its numbers."""
    learned_omega_1 = getattr(model, "learned_omega_1", None)
    return {
        "config": config.to_dict(),
        "protocol": config.protocol(),
        "reduced_protocol": config.is_reduced(),
        "seed": config.seed,
        "git_commit": git_commit(),
        "data_fingerprint": data.fingerprint,
        "data_source": data.source,
        "data_sizes": data.sizes(),
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        # The non-stationary layers' learned relaxation, so reports need no checkpoint (only
        # the paper's nets place such layers, and say so by having the method).
        "learned_omega_1": {str(d): w for d, w in (learned_omega_1 or dict)().items()},
        "device": describe_device(next(model.parameters()).device),
        # The precision the run trained in (resolved from config.precision) and why.
        **plan.record(),
        **processes.record(),  # how many processes trained it, and how
        # The close calls between Algorithm 1 and the kernel path this process timed, and
        # what it kept (the same function either way; the rounding differs).
        "lrlc_path_timings": {key: asdict(t) for key, t in measured_paths().items()},
        "metrics": metrics,
        "environment": environment(),
    }


def write_learned(folder: Path, model: nn.Module) -> None:
    """Write `learned.pt` (atomically) when the model has anything to keep in it."""
    combining = fixed_combining_weights(model)
    if combining:
        save_checkpoint(Path(folder) / LEARNED, {"combining": combining})
