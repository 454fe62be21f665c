"""The run folder: created and probed before a run, its checkpoint checked before a resume
(the same configuration, the same data, the precision it started in), and the errors that end
a run with a message saying what to do."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..config import TrainConfig
from ..files import load_checkpoint
from ..machine import ExecutionPlan
from ..progress import warn
from ..records import CHECKPOINT

__all__ = [
    "NonFiniteLossError",
    "RunError",
    "keep_checkpoint_precision",
    "load_resume",
    "nonfinite",
    "prepare_out_dir",
]


class RunError(RuntimeError):
    """A run cannot go on; the message says why and what to do."""


class NonFiniteLossError(RunError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


def prepare_out_dir(out: Path) -> bool:
    """Create (and probe) the run folder; returns whether this call created it."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise RunError(
            f"cannot write to the output folder {out} ({err.strerror or err}); "
            "choose another --out or fix its permissions"
        ) from err
    return created


def load_resume(out: Path, config: TrainConfig, fingerprint: str) -> dict[str, Any] | None:
    """The checkpoint in `out` to resume from (None if there is none); a RunError if it was
    written for another configuration or other data."""
    path = out / CHECKPOINT
    if not path.exists():
        return None
    state = load_checkpoint(path)
    differs = config.differences(state["config"])
    if differs:
        what = ", ".join(f"{k}: {then!r} there, {now!r} now" for k, (then, now) in differs.items())
        raise RunError(
            f"{out} holds a checkpoint of a different configuration ({what}); use another "
            f"--out, give the same settings to resume it, or delete {path} to start over"
        )
    if state["data_fingerprint"] != fingerprint:
        raise RunError(
            f"the data changed since {path} was written (fingerprint {state['data_fingerprint']}"
            f" then, {fingerprint} now); delete the checkpoint to start over"
        )
    return state


def keep_checkpoint_precision(plan: ExecutionPlan, state: dict[str, Any]) -> ExecutionPlan:
    """A resumed run goes on in the precision it started in, so no run mixes precisions.

    A sweep started on a machine with native bf16 and resumed on one without it finishes its
    half-done run in (emulated, slow) bf16, and says so; its next runs resolve `auto` afresh.
    """
    then = state.get("precision", plan.precision)
    if then == plan.precision:
        return plan
    warn(
        f"this run started in {then} and resumes in {then}, although {plan.precision} was "
        f"chosen here ({plan.precision_reason}); to train it in {plan.precision} from scratch "
        "instead, delete its checkpoint.pt"
    )
    why = f"kept from the checkpoint, which started in {then}"
    return dataclasses.replace(plan, precision=then, precision_reason=why)


def nonfinite(tensors: dict[str, Any]) -> list[str]:
    """Names of the floating-point tensors (nested in dicts/lists) holding NaN or inf."""
    bad: list[str] = []

    def visit(name: str, value: Any) -> None:
        if isinstance(value, Tensor):
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                bad.append(name)
        elif isinstance(value, dict):
            for k, v in value.items():
                visit(f"{name}.{k}" if name else str(k), v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                visit(f"{name}.{i}", v)

    visit("", tensors)
    return bad
