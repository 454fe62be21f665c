# ruff: noqa: B023  (each closure is timed within the loop iteration that defines it)
"""The kernel path against one convolution, forward (with and without autograd) and step,
K = 4, 64 -> 64 channels, 24 x 24: `split.py [N] [cl]`. Session 17."""

import sys

import torch
from _timing import median_s

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.layers import LowRankLocallyConnected2d as L

keep_freed_memory()
torch.set_num_threads(2)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 512
cl = len(sys.argv) > 2 and sys.argv[2] == "cl"
K = 4
m = L(64, 64, 3, input_size=(24, 24), rank=K, path="kernel")
conv = torch.nn.Conv2d(64, 64, 3)
x = torch.randn(N, 64, 24, 24)
if cl:
    x = x.contiguous(memory_format=torch.channels_last)
    m = m.to(memory_format=torch.channels_last)
    conv = conv.to(memory_format=torch.channels_last)
x.requires_grad_(True)


res = {}
for name, mod in (("conv", conv), ("kernel", m), ("conv2", conv), ("kernel2", m)):

    def fwd():
        with torch.no_grad():
            mod(x)

    def fwdg():
        mod(x)

    y = mod(x)
    g = torch.randn_like(y)

    def step():
        y = mod(x)
        y.backward(g)

    res[name] = (median_s(fwd) * 1e3, median_s(fwdg) * 1e3, median_s(step) * 1e3)
    print(name, "fwd nograd {:.0f}  fwd grad {:.0f}  step {:.0f} ms".format(*res[name]))
gf = 2 * N * 22 * 22 * 576 * 64 / 1e9
for k in ("conv2", "kernel2"):
    f, fg, s = res[k]
    print(
        k,
        f"fwd GF/s {gf / fg * 1e3:.0f}, backward-only {s - fg:.0f} ms "
        f"({2 * gf / (s - fg) * 1e3:.0f} GF/s for 2 products)",
    )
