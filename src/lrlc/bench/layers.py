"""LRLC layer speed and peak memory against the convolution floor and naive baselines.

    lrlc bench layers [--quick] [--json PATH]   (or: python -m benchmarks.layers ...)

The paper's sizes: 64 -> 64 channels, 3x3 kernel, 24x24 input, 'valid' padding (22x22 output),
batch 128 and 512, rank K in {1, 2, 4, 8}, float32.

- train (forward + ``out.sum().backward()``; the input requires grad, as for the paper's 3rd
  layer, and parameter grads are reset to None each step as ``zero_grad()`` does):
  the floor ``nn.Conv2d(64, K*64, 3)`` (Algorithm 1 cannot do less work), K separate 64 -> 64
  convolutions combined afterwards, LRLC with fixed (factorized, softmax) and with
  input-dependent combining weights.
- infer (``torch.no_grad()`` forward): LRLC against its ``to_locally_connected()`` conversion
  for K >= 2, and a locally connected layer against an unfold-and-broadcast naive one (at
  batches up to --naive-max-batch) and against the convolution of the same multiply-adds.

Timing and memory methods: see ``lrlc/bench/harness.py``. On a machine shared with other
jobs, ``--threads 1`` gives steadier numbers: OpenMP threads that wait at barriers for a
descheduled sibling make 2-thread timings jump by up to 10x.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lrlc import LocallyConnected2d, LowRankLocallyConnected2d
from lrlc.experiments.run.memory import keep_freed_memory

from ..functional._ops import memory_format_of
from .flags import count, non_negative, positive_float
from .harness import MIB, Step, format_table, log, machine_end, machine_info, measure_group, median

CHANNELS = 64
KERNEL = 3
SIZE = 24
OUT = SIZE - KERNEL + 1

# Targets of the brief: (case, baseline, time or memory, kind, threshold): the ratio
# case / baseline must be <= threshold ("max") or >= threshold ("min", a required speed-up of
# the baseline over the case).
TRAIN_TARGETS = [
    ("lrlc_fixed", "floor_conv", "time", "max", 1.15),
    ("k_separate_convs", "lrlc_fixed", "time", "min", 1.5),
    ("lrlc_input_dep", "floor_conv", "time", "max", 1.4),
    ("lrlc_fixed", "floor_conv", "memory", "max", 1.25),
    ("lrlc_input_dep", "floor_conv", "memory", "max", 1.25),
]
INFER_TARGETS = [("lc_converted", "lrlc_fixed", "time", "max", 1.0)]
NAIVE_TARGETS = [("lc_unfold_naive", "lc", "time", "min", 5.0)]


class KSeparateConvs(nn.Module):
    """The naive baseline: K 64 -> 64 convolutions, each output weighted by its combining
    weights, summed, plus the spatial bias: (N, C, H, W) -> (N, C, H - 2, W - 2)."""

    def __init__(self, rank: int, channels: int = CHANNELS, size: int = SIZE) -> None:
        super().__init__()
        out = size - KERNEL + 1
        self.convs = nn.ModuleList(
            nn.Conv2d(channels, channels, KERNEL, bias=False) for _ in range(rank)
        )
        # Same parameters as the LRLC layer's factorized logits and spatial/channel bias.
        self.alpha = nn.Parameter(torch.zeros(rank, out))
        self.beta = nn.Parameter(torch.zeros(rank, out))
        self.bias_row = nn.Parameter(torch.zeros(out))
        self.bias_col = nn.Parameter(torch.zeros(out))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        w = torch.softmax(self.alpha.unsqueeze(2) + self.beta.unsqueeze(1), dim=0)
        out = self.convs[0](x) * w[0]
        for k in range(1, len(self.convs)):
            out = out + self.convs[k](x) * w[k]
        bias = self.bias_row.view(-1, 1) + self.bias_col.view(1, -1) + self.bias.view(-1, 1, 1)
        return out + bias


def unfold_naive_lc(x: Tensor, lc: LocallyConnected2d, chunk_bytes: int) -> Tensor:
    """Locally connected layer the naive way: unfold, broadcast product, sum, reshape.

    (N, C_in, H, W) -> (N, C_out, H_out, W_out). The (n, L, C_out, C_in*9) product of one
    sample is already 71 MB at the paper's sizes (9 GB for batch 128), so the batch is done
    in chunks whose product fits `chunk_bytes`; the work per sample is unchanged.
    """
    h, w, c_out = lc.weight.shape[:3]
    weight = lc.weight.reshape(h * w, c_out, -1)  # (L, C_out, C_in*9)
    patches = F.unfold(x, lc.kernel_size).transpose(1, 2)  # (N, L, C_in*9)
    per_sample = weight.numel() * x.element_size()
    chunk = max(1, chunk_bytes // per_sample)
    outs = [(p.unsqueeze(2) * weight).sum(-1) for p in patches.split(chunk)]  # (n, L, C_out)
    out = torch.cat(outs).transpose(1, 2).reshape(x.shape[0], c_out, h, w)
    return out + lc.bias


def clear_grads(modules: list[nn.Module], x: Tensor) -> Step:
    """Set the gradients of `x` and of every parameter to None, as ``zero_grad()`` does."""
    params = [p for m in modules for p in m.parameters()]

    def clear() -> None:
        x.grad = None
        for p in params:
            p.grad = None

    return clear


def train_step(module: nn.Module, x: Tensor) -> Step:
    """Forward and backward of `module` on `x`, with a dense output gradient, made on the first
    call and reused, as the next layer of a network sends it. (`out.sum().backward()` sends an
    expanded, stride-0 one, which hid a 30x slow batch sum of the bias's gradient.)"""
    clear = clear_grads([module], x)
    grad: list[Tensor] = []  # made on the first call

    def step() -> None:
        clear()
        out = module(x)
        if not grad:
            g = torch.Generator(device=out.device).manual_seed(0)
            dense = torch.randn(out.shape, generator=g, device=out.device, dtype=out.dtype)
            grad.append(dense.contiguous(memory_format=memory_format_of(out)))
        out.backward(grad[0])

    return step


def infer_step(fn: Any, x: Tensor) -> Step:
    def step() -> None:
        with torch.no_grad():
            fn(x)

    return step


def _rows(
    results: dict[str, dict[str, Any]], mode: str, batch: int, rank: int | None, baseline: str
) -> list[dict[str, Any]]:
    base = results[baseline]
    base_t, base_m = median(base["times_s"]), base["peak_bytes"]
    rows = []
    for name, r in results.items():
        t = median(r["times_s"])
        rows.append(
            {
                "mode": mode,
                "case": name,
                "baseline": baseline,
                "batch": batch,
                "rank": rank,
                "reps": len(r["times_s"]),
                "median_ms": t * 1e3,
                "time_ratio": t / base_t,
                "peak_mib": r["peak_bytes"] / MIB,
                "mem_ratio": r["peak_bytes"] / base_m if base_m else None,
                "times_ms": [round(v * 1e3, 3) for v in r["times_s"]],
            }
        )
    return rows


def _check(rows: list[dict[str, Any]], targets: list[tuple]) -> list[dict[str, Any]]:
    by_case = {r["case"]: r for r in rows}
    out = []
    for case, baseline, what, kind, threshold in targets:
        if case not in by_case or baseline not in by_case:
            continue
        c, b = by_case[case], by_case[baseline]
        key = "median_ms" if what == "time" else "peak_mib"
        value = c[key] / b[key]
        label = f"{what} {case} / {baseline} {'<=' if kind == 'max' else '>='} {threshold}"
        met = value <= threshold if kind == "max" else value >= threshold
        out.append(
            {
                "target": label,
                "mode": c["mode"],
                "batch": c["batch"],
                "rank": c["rank"],
                "value": value,
                "met": met,
            }
        )
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.manual_seed(0)
    timing = dict(warmup=args.warmup, reps=args.reps, min_reps=args.min_reps)
    rows: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    for batch in args.batch:
        x = torch.randn(batch, CHANNELS, SIZE, SIZE, requires_grad=True)
        for rank in args.ranks:
            log(f"train  batch {batch} K={rank}")
            lrlc = LowRankLocallyConnected2d(CHANNELS, CHANNELS, KERNEL, SIZE, rank=rank)
            modules = {
                "floor_conv": nn.Conv2d(CHANNELS, rank * CHANNELS, KERNEL),
                "k_separate_convs": KSeparateConvs(rank),
                "lrlc_fixed": lrlc,
                "lrlc_input_dep": LowRankLocallyConnected2d(
                    CHANNELS, CHANNELS, KERNEL, SIZE, rank=rank, combining="input_dependent"
                ),
            }
            steps = {name: train_step(m, x) for name, m in modules.items()}
            before = clear_grads(list(modules.values()), x)
            res = measure_group(steps, budget_s=args.budget, before=before, **timing)
            group = _rows(res, "train", batch, rank, "floor_conv")
            rows += group
            targets += _check(group, TRAIN_TARGETS)
            del modules, steps, before, res
            if rank >= 2:
                log(f"infer  batch {batch} K={rank}")
                lc = lrlc.to_locally_connected()
                steps = {"lrlc_fixed": infer_step(lrlc, x), "lc_converted": infer_step(lc, x)}
                res = measure_group(steps, budget_s=args.budget, **timing)
                group = _rows(res, "infer", batch, rank, "lrlc_fixed")
                rows += group
                targets += _check(group, INFER_TARGETS)
                del lc, steps, res
            del lrlc
            gc.collect()
        log(f"infer  batch {batch} LC vs naive")
        lc = LocallyConnected2d(CHANNELS, CHANNELS, KERNEL, SIZE)
        conv = nn.Conv2d(CHANNELS, CHANNELS, KERNEL)
        chunk = args.naive_chunk_mib * MIB
        steps = {"lc": infer_step(lc, x)}
        # The naive layer writes and reads a 71 MB product per example (~16 s per call at batch
        # 128 on a busy 2-core machine), so it runs only up to --naive-max-batch; its cost per
        # example does not depend on the batch anyway.
        if batch <= args.naive_max_batch:
            naive = partial(unfold_naive_lc, lc=lc, chunk_bytes=chunk)
            steps["lc_unfold_naive"] = infer_step(naive, x)
        # The convolution with the same multiply-adds, for reference only.
        steps["conv_same_macs"] = infer_step(conv, x)
        res = measure_group(steps, budget_s=args.budget, **timing)
        group = _rows(res, "infer", batch, None, "lc")
        rows += group
        targets += _check(group, NAIVE_TARGETS)
        del x, lc, conv, steps, res
        gc.collect()
    return {"rows": rows, "targets": targets}


ROW_COLUMNS = [
    ("mode", "mode", "s"),
    ("case", "case", "s"),
    ("baseline", "baseline", "s"),
    ("batch", "N", "d"),
    ("rank", "K", "d"),
    ("reps", "reps", "d"),
    ("median_ms", "median ms", ".1f"),
    ("time_ratio", "x base", ".2f"),
    ("peak_mib", "peak MiB", ".1f"),
    ("mem_ratio", "mem x base", ".2f"),
]
TARGET_COLUMNS = [
    ("target", "target", "s"),
    ("mode", "mode", "s"),
    ("batch", "N", "d"),
    ("rank", "K", "d"),
    ("value", "value", ".2f"),
    ("met", "met", "s"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lrlc bench layers", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: batch 32, 2 warm-up, 3 reps")
    p.add_argument("--json", metavar="PATH", help="write the JSON here instead of stdout")
    p.add_argument("--batch", type=count, nargs="+", default=None, help="default 128 512")
    p.add_argument("--ranks", type=count, nargs="+", default=[1, 2, 4, 8])
    p.add_argument(
        "--warmup", type=non_negative, default=2, help="untimed calls per case, the first profiled"
    )
    p.add_argument("--reps", type=count, default=None, help="timed rounds (default 7)")
    p.add_argument("--min-reps", type=count, default=5, help="even for slow groups (noise)")
    p.add_argument(
        "--budget",
        type=positive_float,
        default=40.0,
        help="seconds of timed rounds per group; fewer reps (>= --min-reps) for slow groups",
    )
    p.add_argument("--naive-chunk-mib", type=count, default=512, help="broadcast-product chunk")
    p.add_argument(
        "--naive-max-batch", type=count, default=128, help="largest batch for the naive LC"
    )
    p.add_argument("--threads", type=count, default=None, help="torch.set_num_threads")
    args = p.parse_args(argv)
    if args.batch is None:
        args.batch = [32] if args.quick else [128, 512]
    if args.reps is None:
        args.reps = 3 if args.quick else 7
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # As the trainer: keep freed tensor memory instead of re-faulting it every step.
    keep_freed_memory()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    info = machine_info()
    log(f"torch {info['torch']}, {info['threads']} threads, {info['cpu_model']}")
    t0 = time.perf_counter()
    result = run(args)
    config = {k: v for k, v in vars(args).items() if k != "json"}
    report = {
        "benchmark": "layers",
        "machine": machine_end(info),
        "config": config,
        "memory_method": "peak of live tensor bytes from torch.profiler(profile_memory=True) "
        "alloc/free events during one step, over what was live before it",
        "elapsed_s": time.perf_counter() - t0,
        **result,
    }
    print(format_table(result["rows"], ROW_COLUMNS))
    print()
    print(format_table(result["targets"], TARGET_COLUMNS))
    load = report["machine"]
    print(
        f"\ntorch {info['torch']}, {info['threads']} threads, {info['cpu_model']}; "
        f"load average {load['loadavg_start'][0]:.2f} at start, {load['loadavg_end'][0]:.2f} "
        f"at end on {info['cpu_count']} CPUs; {report['elapsed_s']:.0f} s"
    )
    text = json.dumps(report, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
        log(f"JSON written to {args.json}")
    else:
        print(text)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    main()
