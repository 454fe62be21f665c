"""Which device a run trains on: the CPU by default, or a CUDA GPU when asked for.

The device is where a run executes, like the executor, so it is not part of `TrainConfig`
(whose hash names the run): the same run resumes on another device. result.json records it.
"""

from __future__ import annotations

import torch

DEVICE_CHOICES = "cpu, cuda, cuda:N or auto (a GPU if there is one, else the CPU)"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The torch.device for a --device value; None means the CPU.

    Raises ValueError, saying what to pass instead, for an unknown device type or a GPU that
    this machine does not have.
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}; use {DEVICE_CHOICES}") from err
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"device {device!r} is not supported; use {DEVICE_CHOICES}")
    if not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} was asked for, but this torch build or machine has no CUDA GPU "
            f"(torch {torch.__version__}); use --device cpu, or install a CUDA build of torch"
        )
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device {device!r} does not exist: this machine has {torch.cuda.device_count()} "
            "CUDA device(s), numbered from 0"
        )
    return dev


def describe_device(device: torch.device) -> str:
    """A human-readable name for result.json, e.g. 'cpu' or 'cuda:0 (NVIDIA A100)'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)
