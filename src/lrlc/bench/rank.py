"""Rank-independent training cost: LRLC through its per-position kernels against Algorithm 1,
both against ONE convolution of the same size.

    lrlc bench rank [--quick] [--json PATH]   (or: python -m benchmarks.rank ...)

The paper's layer: 64 -> 64 channels, 3x3, 24x24 input, 'valid' (22x22 output), float32 (or
--precision bf16), NCHW (or --channels-last, the layout the trainer picks by default on CPUs
with AVX-512), forward + backward with the input requiring grad. Per batch N and rank K:

- train: `nn.Conv2d(64, 64, 3)` (the baseline), LRLC fixed (factorized, softmax) by
  Algorithm 1 (path "basis", K convolutions; up to --basis-max-rank, since its cost is known
  to grow linearly), by per-position kernels (path "kernel"), by the layer's own choice
  ("auto", the chosen path recorded), and input-dependent LRLC (always Algorithm 1).
- per N: `LocallyConnected2d` training step and inference against the same convolution.
- where the row products run compiled (float32 on a CPU with AVX2 / AVX-512 and a C
  compiler, `lrlc.functional.native_status`), the kernel path and `LocallyConnected2d` again
  with torch's products (cases ending in `_torch`), so that the kernel's gain is measured in
  the same group.

Every ratio is to the convolution measured in the same group (round-robin, medians), and peak
memory is the most tensor memory live during one step (see harness.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from typing import Any

import torch
from torch import nn

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.experiments.run.device import resolve_device
from lrlc.experiments.run.memory import keep_freed_memory

from ..functional import native_status, use_native
from ..functional._ops import memory_format_of
from .flags import count, non_negative, positive_float
from .handoff import SLOW_US, describe, handoff_us
from .harness import MIB, Step, format_table, log, machine_end, machine_info, measure_group, median
from .layers import CHANNELS, KERNEL, SIZE, clear_grads, infer_step, train_step

# (case, max ratio to the convolution, what, batches it applies to, ranks it applies to)
TARGETS = [
    ("lrlc_kernel", 1.3, "time", (512,), range(2, 33)),
    ("lrlc_kernel", 1.5, "time", (128,), range(2, 33)),
    ("lrlc_kernel", 1.5, "memory", None, None),
    ("lrlc_auto", 1.5, "memory", None, None),
    ("lc_train", 1.5, "time", None, None),
    ("lc_infer", 1.15, "time", None, None),
]
AUTO_SLACK = 1.05  # auto may be at most 5% slower than the faster of the two paths


def lrlc(rank: int, path: str, combining: str = "factorized") -> LowRankLocallyConnected2d:
    layer = LowRankLocallyConnected2d(
        CHANNELS, CHANNELS, KERNEL, SIZE, rank=rank, combining=combining, path=path, init="random"
    )
    return layer


def _row(res: dict, name: str, base: str, **fields: Any) -> dict[str, Any]:
    t, b = median(res[name]["times_s"]), median(res[base]["times_s"])
    peak, base_peak = res[name]["peak_bytes"], res[base]["peak_bytes"]
    return dict(
        case=name, median_ms=t * 1e3, time_ratio=t / b, peak_mib=peak / MIB,
        mem_ratio=peak / base_peak if base_peak else None, reps=len(res[name]["times_s"]),
        **fields,
    )  # fmt: skip


def rank_group(x: torch.Tensor, rank: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    batch = x.shape[0]
    auto = lrlc(rank, "auto", args.combining)
    modules: dict[str, nn.Module] = {"conv": nn.Conv2d(CHANNELS, CHANNELS, KERNEL)}
    if rank <= args.basis_max_rank:
        modules["lrlc_basis"] = lrlc(rank, "basis", args.combining)
    modules["lrlc_kernel"] = lrlc(rank, "kernel", args.combining)
    if _compiled(args):
        modules["lrlc_kernel_torch"] = lrlc(rank, "kernel", args.combining)
    modules["lrlc_auto"] = auto
    if rank <= args.basis_max_rank:
        modules["lrlc_input_dep"] = lrlc(rank, "auto", "input_dependent")
    modules = {name: _placed(m, x) for name, m in modules.items()}
    steps = {name: _in(args, train_step(m, x), name) for name, m in modules.items()}
    # auto times a close call on its first forward, once per shape and dtype: done here (a
    # forward alone, in the precision of the run; its output gradient is still made in the
    # profiled call, as every case's is), so that the profiled call and the timed rounds see
    # the steady training step. (Timed in float32 before a bf16 run, the close call was timed
    # again inside the profiled call: auto's peak memory read 2.1x a convolution's at K = 4
    # where the path it chose takes 1.06x.)
    _in(args, lambda: modules["lrlc_auto"](x))()
    before = clear_grads(list(modules.values()), x)
    res = measure_group(steps, budget_s=args.budget, before=before, **_timing(args))
    chosen = auto.last_path  # the cost model's path, or the faster of a timed close call
    return [
        _row(res, name, "conv", mode="train", batch=batch, rank=rank,
             chosen=chosen if name == "lrlc_auto" else "",
             combining="input_dependent" if name == "lrlc_input_dep" else args.combining)
        for name in modules
    ]  # fmt: skip


def lc_group(x: torch.Tensor, args: argparse.Namespace) -> list[dict[str, Any]]:
    batch = x.shape[0]
    conv = _placed(nn.Conv2d(CHANNELS, CHANNELS, KERNEL), x)
    lc = _placed(LocallyConnected2d(CHANNELS, CHANNELS, KERNEL, SIZE), x)
    steps = {"conv": _in(args, train_step(conv, x)), "lc_train": _in(args, train_step(lc, x))}
    if _compiled(args):
        steps["lc_train_torch"] = _in(args, train_step(lc, x), "lc_train_torch")
    res = measure_group(
        steps, budget_s=args.budget, before=clear_grads([conv, lc], x), **_timing(args)
    )
    rows = [_row(res, n, "conv", mode="train", batch=batch, rank=None) for n in steps]
    steps = {"conv_infer": _in(args, infer_step(conv, x)), "lc_infer": _in(args, infer_step(lc, x))}
    if _compiled(args):
        steps["lc_infer_torch"] = _in(args, infer_step(lc, x), "lc_infer_torch")
    res = measure_group(steps, budget_s=args.budget, **_timing(args))
    rows += [_row(res, n, "conv_infer", mode="infer", batch=batch, rank=None) for n in steps]
    return rows


def probed(rows: list[dict[str, Any]], before: float) -> tuple[list[dict[str, Any]], float]:
    """A group's rows, each with the hand-off probe (handoff.py) read before the group (the
    previous reading) and after it, and that after-reading, the next group's before: on a VM
    whose slow state comes and goes within a grid, the rows it touched."""
    after = handoff_us()
    return [row | {"handoff_us": [before, after]} for row in rows], after


def slow_groups(rows: list[dict[str, Any]]) -> str:
    """The groups whose probe read slow before or after them, as 'N=128 K=8, ...', or 'none'."""
    slow = dict.fromkeys(
        f"N={r['batch']} " + (f"K={r['rank']}" if r["rank"] is not None else "LC")
        for r in rows
        if max(r["handoff_us"]) > SLOW_US
    )
    return ", ".join(slow) or "none"


def _placed(module: nn.Module, x: torch.Tensor) -> nn.Module:
    """`module` on x's device and in x's layout, as the trainer converts a model for
    channels_last: the convolution's weight too, so that oneDNN runs it without reordering."""
    return module.to(x.device, memory_format=memory_format_of(x))


def _compiled(args: argparse.Namespace) -> bool:
    """Whether this run's row products go through the compiled kernel (float32 on a CPU
    where it built), and so the `_torch` cases are measured beside them."""
    return args.precision == "fp32" and args.device == "cpu" and native_status().available


def _in(args: argparse.Namespace, step: Step, case: str = "") -> Step:
    """The step under the precision asked for: bf16 is autocast, as the trainer uses it
    (parameters and the input stay float32; every case, the baseline included, runs in it).
    On a GPU the step ends when its kernels have, so that the wall clock times them. A case
    ending in `_torch` runs with torch's row products instead of the compiled ones."""
    device = torch.device(args.device)
    if case.endswith("_torch"):
        inner = step

        def step() -> None:
            with use_native(False):
                inner()

    if args.precision == "fp32" and device.type == "cpu":
        return step

    def timed_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return timed_step


def _timing(args: argparse.Namespace) -> dict[str, Any]:
    return dict(warmup=args.warmup, reps=args.reps, min_reps=args.min_reps, device=args.device)


def check(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target against the rows it applies to, and auto against the faster path."""
    out = []
    for case, bound, what, batches, ranks in TARGETS:
        for r in rows:
            if r["case"] != case or (batches and r["batch"] not in batches):
                continue
            if ranks is not None and r["rank"] not in ranks:
                continue
            value = r["time_ratio"] if what == "time" else r["mem_ratio"]
            label = f"{what} {case} / conv <= {bound}"
            out.append(dict(target=label, batch=r["batch"], rank=r["rank"], value=value,
                            met=value <= bound))  # fmt: skip
    by = {(r["case"], r["batch"], r["rank"]): r for r in rows}
    for (case, batch, rank), r in by.items():
        if case != "lrlc_auto":
            continue
        paths = [
            by[(c, batch, rank)] for c in ("lrlc_basis", "lrlc_kernel") if (c, batch, rank) in by
        ]
        best = min(p["median_ms"] for p in paths)
        value = r["median_ms"] / best
        label = f"time lrlc_auto / faster path <= {AUTO_SLACK}"
        out.append(dict(target=label, batch=batch, rank=rank, value=value, met=value <= AUTO_SLACK))
    return out


COLUMNS = [
    ("mode", "mode", "s"), ("case", "case", "s"), ("batch", "N", "d"), ("rank", "K", "d"),
    ("chosen", "auto chose", "s"), ("reps", "reps", "d"), ("median_ms", "median ms", ".1f"),
    ("time_ratio", "x conv", ".2f"), ("peak_mib", "peak MiB", ".1f"),
    ("mem_ratio", "mem x conv", ".2f"),
]  # fmt: skip
TARGET_COLUMNS = [
    ("target", "target", "s"), ("batch", "N", "d"), ("rank", "K", "d"),
    ("value", "value", ".2f"), ("met", "met", "s"),
]  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lrlc bench rank", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: batch 8, ranks 1 2, 2 reps")
    p.add_argument("--json", metavar="PATH", help="write the JSON here as well")
    p.add_argument("--batch", type=count, nargs="+", default=None, help="default 128 512")
    p.add_argument("--ranks", type=count, nargs="+", default=None, help="default 1 2 4 8 16 32")
    p.add_argument("--basis-max-rank", type=count, default=8, help="largest K for Algorithm 1")
    p.add_argument("--combining", choices=("factorized", "full"), default="factorized",
                   help="the fixed layers' combining weights; full at K = 484 (22 x 22 output "
                   "positions) can express any locally connected layer")  # fmt: skip
    p.add_argument("--warmup", type=non_negative, default=2)
    p.add_argument("--reps", type=count, default=None, help="timed rounds (default 5)")
    p.add_argument("--min-reps", type=count, default=3)
    p.add_argument("--budget", type=positive_float, default=30.0,
                   help="seconds of timed rounds per group")  # fmt: skip
    p.add_argument("--threads", type=count, default=None, help="torch.set_num_threads")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="fp32 (default) or bf16 autocast; a CPU without native bf16 emulates "
                   "it many times slower, which the output says")  # fmt: skip
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.add_argument("--channels-last", action="store_true",
                   help="inputs and modules in channels_last, every case alike (the "
                   "trainer's layout by default on CPUs with AVX-512); default NCHW")  # fmt: skip
    args = p.parse_args(argv)
    quick = args.quick
    args.batch = args.batch or ([8] if quick else [128, 512])
    args.ranks = args.ranks or ([1, 2] if quick else [1, 2, 4, 8, 16, 32])
    args.reps = args.reps or (2 if quick else 5)
    if quick:
        args.min_reps, args.warmup = 1, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        args.device = str(resolve_device(args.device))
    except (ValueError, RuntimeError) as err:
        print(f"lrlc bench rank: error: {err}", file=sys.stderr)
        return 2
    keep_freed_memory()  # as the trainer does
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    info = machine_info()
    where = info["gpu"] if args.device.startswith("cuda") else info["cpu_model"]
    layout = "channels_last" if args.channels_last else "NCHW"
    log(f"torch {info['torch']}, {info['threads']} threads, {where}, {args.precision}, {layout}")
    if args.precision == "bf16" and args.device == "cpu" and not info["native_bf16"]:
        log("this CPU has no native bf16: bf16 is emulated here; its ratios are not the ones a "
            "CPU with native bf16 would give")  # fmt: skip
    torch.manual_seed(0)
    t0, rows = time.perf_counter(), []
    probe = info["handoff_us_start"]  # each group's rows get the readings around it
    for batch in args.batch:
        x = torch.randn(batch, CHANNELS, SIZE, SIZE, device=args.device)
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_()
        for rank in args.ranks:
            log(f"train batch {batch} K={rank}")
            group, probe = probed(rank_group(x, rank, args), probe)
            rows += group
            gc.collect()
        log(f"locally connected, batch {batch}")
        group, probe = probed(lc_group(x, args), probe)
        rows += group
    targets = check(rows)
    print(format_table(rows, COLUMNS))
    print()
    print(format_table(targets, TARGET_COLUMNS))
    info = machine_end(info, probe)
    handoff = f"{describe(info['handoff_us_start'])} -> {describe(info['handoff_us_end'])}"
    report = dict(benchmark="rank", machine=info, config=vars(args), rows=rows, targets=targets,
                  elapsed_s=time.perf_counter() - t0)  # fmt: skip
    print(f"\n{info['cpu_model']}, {info['threads']} threads, {args.precision}, "
          f"native bf16 {info['native_bf16']}; {layout}; huge pages {info['huge_pages']}; "
          f"load {info['loadavg_start'][0]:.2f} -> {info['loadavg_end'][0]:.2f}; "
          f"handoff {handoff}; {report['elapsed_s']:.0f} s")  # fmt: skip
    print(f"row products: {info['row_products']}")
    print(f"groups with a slow hand-off reading before or after them: {slow_groups(rows)}")
    if args.json:
        with open(args.json, "w") as f:
            f.write(json.dumps(report, indent=1, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
