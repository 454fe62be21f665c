"""The path a close call takes: both timed once per shape, the faster kept.

`choose_path`'s cost model orders the kernel path and Algorithm 1 rightly when their costs are
far apart. Near the crossover it cannot: its constants are fitted per vector ISA, and two CPUs
of one ISA differed by 1.9x (AVX-512: at K = 2, N = 512 the kernel path was 1.43x Algorithm 1
on an AMD Zen 5 and 0.79x on an Intel Xeon with AMX; docs/performance.md). So when the model
puts the two within `CLOSE_CALL` of each other, the layer runs both on the batch at hand, a
warm-up and three timed steps each (forward, and backward where autograd will run one), and keeps
the faster for every later call of the same shape, dtype, layout, device, grad mode and thread
count, and of batch sizes within `NEIGHBOUR_BATCH` of it. Both paths compute the same
function, so the choice changes only the rounding.

A run records what it measured in its checkpoint and takes it up again when it resumes
(`restore_measured_paths`), so that an interrupted run ends with the weights of an
uninterrupted one. `LRLC_PATH_TIMING=0` in the environment, or `set_path_timing(False)`,
keeps the model's choice (paths that never depend on timing, e.g. for a sweep whose earlier
runs took the model's paths).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ._kernel_path import path_estimates
from ._ops import Pair, exporting, memory_format_of

# The model's two costs within this factor of each other: measured. The largest error seen
# was 1.9x (above); a wider band only costs a few more one-time measurements.
CLOSE_CALL = 2.0
# Devices where every call is measured, close or not: a GPU step takes milliseconds, and the
# cost model's constants come from CPUs (one H200's figures, docs/performance.md, say little
# about another GPU's).
ALWAYS_MEASURED = frozenset({"cuda"})
WARMUPS, REPS = 1, 3  # a shared VM drifts 10-30%: the best of three of each

_enabled = os.environ.get("LRLC_PATH_TIMING", "1") != "0"
_clock: Callable[[], float] = time.perf_counter


@dataclass(frozen=True)
class PathTiming:
    """The outcome of one measurement: the path kept and each path's best time (seconds)."""

    path: str
    basis_s: float
    kernel_s: float


_measured: dict[str, PathTiming] = {}

# A batch within this factor of a measured batch size (all else in the key alike) takes that
# measurement's path untimed. The last batch of an epoch and evaluation's remainders (704 and
# 784 of 1,024 on MNIST's splits) would each cost a measurement, eight layer steps, to decide
# a call made once an epoch; the faster path flips with the batch only near the crossover,
# where the two differ little. On a Zen 4 CPU a one-epoch run (512 training images, then
# MNIST's validation and test splits) measured five batch sizes in 13.6 s, against 3.3 s with
# timing off; with neighbours taken up, two, in 11.2 s.
NEIGHBOUR_BATCH = 2.0


def set_path_timing(enabled: bool) -> bool:
    """Measure close calls (True, the default) or keep the cost model's choice; returns the
    previous setting."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    return previous


def measured_paths() -> dict[str, PathTiming]:
    """Every measurement so far, by its key (`timing_key`)."""
    return dict(_measured)


def restore_measured_paths(records: dict[str, dict]) -> None:
    """Take up measurements recorded earlier (`measured_paths`, as dicts), so that a resumed
    run takes the paths it took before its interruption, and so its rounding."""
    for key, record in records.items():
        _measured[key] = PathTiming(**record)


def clear_measured_paths() -> None:
    _measured.clear()


def _family(key: str) -> tuple[str, int]:
    """(the key with its batch size replaced by N, the batch size)."""
    start = key.rfind(" on (") + len(" on (")
    end = key.index(",", start)
    return key[:start] + "N" + key[end:], int(key[start:end])


def _neighbour(key: str) -> PathTiming | None:
    """The measurement of the nearest batch size within `NEIGHBOUR_BATCH` of this key's, all
    else alike, or None. (Asked only for a key not measured itself: a scan of the few
    measurements there are.)"""
    family, batch = _family(key)
    near = []
    for other, timing in _measured.items():
        other_family, m = _family(other)
        ratio = max(m / batch, batch / m)
        if other_family == family and ratio <= NEIGHBOUR_BATCH:
            near.append((ratio, m, timing))
    return min(near, key=lambda item: item[:2])[2] if near else None


def is_close_call(basis_cost: float, kernel_cost: float) -> bool:
    return max(basis_cost, kernel_cost) < CLOSE_CALL * min(basis_cost, kernel_cost)


def timing_key(layer: str, x: Tensor) -> str:
    """`layer` (its class and arguments) and what a path's speed depends on besides: the
    batch's shape, dtype (autocast's where it is on), layout and device, whether autograd
    records, and the thread count."""
    device = x.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
    layout = "channels_last" if memory_format_of(x) == torch.channels_last else "contiguous"
    grad = "train" if torch.is_grad_enabled() else "infer"
    dtype_name = str(dtype).removeprefix("torch.")
    return (f"{layer} on {tuple(x.shape)} {dtype_name} {layout} {x.device} {grad} "
            f"{torch.get_num_threads()} threads")  # fmt: skip


def _can_measure(x: Tensor) -> bool:
    compiling = torch.compiler.is_compiling()
    return _enabled and not (compiling or exporting() or x.device.type == "meta")


def fastest_path(
    name: Callable[[], str],
    rank: int,
    stride: Pair,
    dilation: Pair,
    run: Callable[..., Tensor],
    inputs: Sequence[Tensor | None],
    params: Iterable[Tensor] = (),
) -> str:
    """`path="auto"` for a batch: the cost model's path (as `choose_path`), or where its two
    estimates are a close call the faster of the two, timed on the first such batch and kept
    for every later one of the same key (`timing_key`) or of a batch size within
    `NEIGHBOUR_BATCH` of it, all else alike.

    `inputs[0]` is the batch x; `run(path, *inputs)` computes the output by `path` (timed on
    the inputs detached from the caller's graph); `params` are leaves whose gradients a
    training step computes too (a module's parameters), taken by `torch.autograd.grad`, so no
    `.grad` is written. `name()` describes the layer (called on close calls only). Disabled,
    compiling or exporting: always the model's path."""
    x = inputs[0]
    basis, kernel = path_estimates(rank, x.shape[0], stride, dilation, x.device)
    model = "kernel" if kernel < basis else "basis"
    close = is_close_call(basis, kernel) or x.device.type in ALWAYS_MEASURED
    if not (close and _can_measure(x)):
        return model
    key = timing_key(name(), x)
    timing = _measured.get(key) or _neighbour(key)
    if timing is None:
        detached = [None if t is None else t.detach().requires_grad_(t.requires_grad)
                    for t in inputs]  # fmt: skip
        wrt = [t for t in (*detached, *params) if t is not None and t.requires_grad]
        timing = _measured[key] = _time_paths(lambda path: run(path, *detached), wrt)
    return timing.path


def _time_paths(run: Callable[[str], Tensor], wrt: list[Tensor]) -> PathTiming:
    """A warm-up and `REPS` timed steps of each path, alternating so that a slow moment of a
    shared machine hits both alike; the best time of each."""
    wrt = wrt if torch.is_grad_enabled() else []
    best = {"basis": float("inf"), "kernel": float("inf")}
    for rep in range(WARMUPS + REPS):
        for path in ("basis", "kernel") if rep % 2 == 0 else ("kernel", "basis"):
            start = _clock()
            out = run(path)
            if wrt:
                torch.autograd.grad(out, wrt, out.detach(), allow_unused=True)
            if out.device.type == "cuda":
                torch.cuda.synchronize(out.device)
            if rep >= WARMUPS:
                best[path] = min(best[path], _clock() - start)
    path = "kernel" if best["kernel"] < best["basis"] else "basis"
    return PathTiming(path, best["basis"], best["kernel"])


__all__ = [
    "ALWAYS_MEASURED",
    "CLOSE_CALL",
    "NEIGHBOUR_BATCH",
    "PathTiming",
    "clear_measured_paths",
    "fastest_path",
    "is_close_call",
    "measured_paths",
    "restore_measured_paths",
    "set_path_timing",
    "timing_key",
]
