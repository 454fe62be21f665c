"""One training step of a convolution, the LRLC kernel path and LocallyConnected2d (64 -> 64,
3x3, 24x24 'valid'): median time and profiler peak memory, as ratios to the convolution.

    python ab_memory.py TAG [--rank K] [--precisions fp32 bf16] [--layouts nchw cl]
                            [--batches 128 512]

Defaults are the session-16 A/B (`ab_memory-output.txt`); `ab_k-output.txt` ran it with
`--rank 32` and `--rank 8`, `--precisions fp32 --layouts nchw --batches 128`.
"""

import argparse
import statistics

import torch

from lrlc import LocallyConnected2d as LC
from lrlc import LowRankLocallyConnected2d as L
from lrlc.bench.harness import measure_group
from lrlc.bench.layers import clear_grads, train_step
from lrlc.experiments.run.memory import keep_freed_memory

p = argparse.ArgumentParser()
p.add_argument("tag")
p.add_argument("--rank", type=int, default=8)
p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
p.add_argument("--layouts", nargs="+", default=["nchw", "cl"])
p.add_argument("--batches", type=int, nargs="+", default=[128, 512])
args = p.parse_args()
keep_freed_memory()
torch.set_num_threads(2)
for prec in args.precisions:
    for layout in args.layouts:
        for N in args.batches:
            fmt = torch.channels_last if layout == "cl" else torch.contiguous_format
            x = torch.randn(N, 64, 24, 24).contiguous(memory_format=fmt).requires_grad_()
            conv = torch.nn.Conv2d(64, 64, 3).to(memory_format=fmt)
            m = L(64, 64, 3, 24, rank=args.rank, path="kernel", init="random")
            m = m.to(memory_format=fmt)
            lc = LC(64, 64, 3, 24).to(memory_format=fmt)

            def wrap(step, prec=prec):
                def s():
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
                        step()

                return s

            steps = {"conv": conv, "kernel": m, "lc": lc}
            steps = {k: wrap(train_step(mod, x)) for k, mod in steps.items()}
            res = measure_group(steps, warmup=2, reps=5, before=clear_grads([conv, m, lc], x))
            med = {k: statistics.median(v["times_s"]) * 1e3 for k, v in res.items()}
            pk = {k: v["peak_bytes"] / 2**20 for k, v in res.items()}
            name = "CL  " if layout == "cl" else "NCHW"
            print(
                f"{args.tag} {prec} {name} N={N:3d}: conv {med['conv']:6.1f} ms "
                f"{pk['conv']:5.0f} MiB | kernel {med['kernel'] / med['conv']:.2f}x mem "
                f"{pk['kernel'] / pk['conv']:.2f}x | lc {med['lc'] / med['conv']:.2f}x mem "
                f"{pk['lc'] / pk['conv']:.2f}x",
                flush=True,
            )
