"""One training run: config -> trained model, per-epoch checkpoints, result.json; and its
device, memory settings and conversion for inference."""

from ..records import CHECKPOINT, METRICS, RESULT
from .device import describe_device, resolve_device
from .folder import NonFiniteLossError, RunError
from .trainer import (
    epoch_order,
    evaluate,
    load_run_data,
    lr_at,
    train,
)

__all__ = [
    "CHECKPOINT",
    "METRICS",
    "RESULT",
    "NonFiniteLossError",
    "RunError",
    "describe_device",
    "epoch_order",
    "evaluate",
    "load_run_data",
    "lr_at",
    "resolve_device",
    "train",
]
