"""Timing and memory utilities shared by the benchmarks.

Timing: cases that are compared with each other run round-robin (case A, B, C, A, B, C, ...)
after their warm-up, so a load spike from another process on this shared machine hits every
case of a comparison about equally instead of falsifying one ratio. The median of the timed
repetitions is reported.

Peak memory: torch has no CPU allocator statistics, so we use torch.profiler with
``profile_memory=True`` and replay its allocation (+bytes) and free (-bytes) events in time
order; the peak of that running sum is the most tensor memory live at once during one step,
over what was live before the step. We chose this over the peak RSS of a fresh subprocess
because it is deterministic (the same number on every run, unaffected by the other processes
here, glibc's free-list caching or mmap thresholds), it runs in the same process as the
timing, and it counts exactly the tensors the layer code controls. It does not see memory that
libraries allocate outside c10's CPU allocator (e.g. library-internal scratch buffers).
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from lrlc.experiments import huge_pages
from lrlc.experiments.machine import cpu_flags, cpu_model, cpu_native_bf16
from lrlc.functional import native_status

from .handoff import handoff_us

Step = Callable[[], None]
MIB = 2**20


def machine_info() -> dict[str, Any]:
    """What the lead needs to compare runs: versions, threads, CPU, load at the start."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": list(cpu_flags()),
        "native_bf16": cpu_native_bf16(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "mkl": torch.backends.mkl.is_available(),
        # Whether the row engines' float32 products ran compiled (lrlc.functional._native).
        "row_products": native_status().reason,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        # Both sides of every ratio ran under the same setting (huge_pages.py).
        **huge_pages.current().record(),
        # A load above the core count means other processes competed for the CPU.
        "loadavg_start": list(os.getloadavg()),
        # Above handoff.SLOW_US: the state of a VM that slowed the kernel path (handoff.py).
        "handoff_us_start": handoff_us(),
    }


def machine_end(info: dict[str, Any], handoff: float | None = None) -> dict[str, Any]:
    """`info` with what is read again when a benchmark ends: the load and the hand-off probe
    (`handoff`, where the caller has just read it)."""
    handoff = handoff_us() if handoff is None else handoff
    return info | {"loadavg_end": list(os.getloadavg()), "handoff_us_end": handoff}


def measure_group(
    steps: dict[str, Step],
    warmup: int = 2,
    reps: int = 7,
    min_reps: int = 3,
    budget_s: float | None = None,
    before: Step | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, dict[str, Any]]:
    """Time and memory of steps that are compared with each other.

    Each step gets `warmup` (>= 1) untimed calls; the first runs under the memory profiler
    (right after `before`, e.g. a reset of the gradients, so that frees of the previous
    step's tensors do not enter the window; the peak is then the same cold or warm). Then
    `reps` timed rounds run round-robin. With `budget_s`, fewer rounds (not below `min_reps`)
    so that the rounds, estimated from the fastest untimed call of each step, fit the budget;
    when even `min_reps` rounds do not fit, the plain warm-up calls are skipped too (the
    profiled call is the warm-up). Returns name -> {"times_s": [...], "peak_bytes": int}.
    """
    if warmup < 1:
        raise ValueError(f"warmup must be >= 1 (memory is measured on a warm-up), got {warmup}")
    durations: dict[str, list[float]] = {}
    peaks: dict[str, int] = {}
    for name, step in steps.items():
        if before is not None:
            before()
        t0 = time.perf_counter()
        peaks[name] = peak_memory_bytes(step, device)
        durations[name] = [time.perf_counter() - t0]
    plain = warmup - 1
    if budget_s is not None and sum(d[0] for d in durations.values()) * min_reps > budget_s:
        plain = 0
    for name, step in steps.items():
        for _ in range(plain):
            t0 = time.perf_counter()
            step()
            durations[name].append(time.perf_counter() - t0)
    if budget_s is not None:
        per_round = sum(min(d) for d in durations.values())
        reps = max(min_reps, min(reps, int(budget_s / max(per_round, 1e-9))))
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(reps):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    return {name: {"times_s": times[name], "peak_bytes": peaks[name]} for name in steps}


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: kineto prints two log lines per profiler session there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def peak_memory_bytes(step: Step, device: torch.device | str = "cpu") -> int:
    """Peak of live tensor bytes allocated during one call of `step` (see module docstring),
    over what was live before the call. Tensors freed during the call that were allocated
    before it (e.g. last step's gradients) lower the running sum, so reset them first. On a
    CUDA device, from the caching allocator's own statistics instead of the profiler."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    with _quiet_stderr():
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            step()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    # Stable sort: events with equal timestamps keep their recorded order.
    events.sort(key=lambda e: e.start_ns())
    live = peak = 0
    for e in events:
        live += e.nbytes()  # negative for a free
        peak = max(peak, live)
    return peak


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """A plain text table; `columns` are (key, header, format spec), spec "s" for text
    (left-aligned). None prints as '-', booleans as yes/NO."""

    def cell(row: dict[str, Any], key: str, spec: str) -> str:
        value = row.get(key)
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "NO"
        return format(value, spec)

    cells = [[cell(r, k, s) for k, _, s in columns] for r in rows]
    headers = [h for _, h, _ in columns]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]

    left = [spec == "s" for _, _, spec in columns]

    def line(parts: Sequence[str]) -> str:
        # Text left-aligned, numbers right-aligned so their digits line up.
        return "  ".join(
            p.ljust(w) if is_left else p.rjust(w) for p, w, is_left in zip(parts, widths, left)
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def log(msg: str) -> None:
    """Progress on stderr, so stdout holds only the table and the JSON."""
    print(msg, file=sys.stderr, flush=True)
