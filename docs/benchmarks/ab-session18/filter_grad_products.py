"""The filter gradients' products of the kernel path in a training step (session 18): dL/dy's
row transposed (g_t), the 3 batched products dW = g_t @ patches, and `add_grad`, each timed
where it runs. Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/filter_grad_products.py
N K [cl]`."""

import statistics
import sys
import time

import torch
from _ab import timed_steps

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _rows_backward
from lrlc.layers import LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
n, k, cl = int(sys.argv[1]), int(sys.argv[2]), len(sys.argv) > 3
times = {"g_t": [], "dW": [], "add_grad": []}


def timed(name, f):
    s = time.perf_counter()
    r = f()
    times[name].append(time.perf_counter() - s)
    return r


def row_filter_grad(patches, g, geo, i, kernels):  # `_row_filter_grad`, grouped columns only
    d_a = g.new_empty((geo.out[1], g.shape[-1], geo.kw * geo.channels))
    g_t = timed("g_t", lambda: g.transpose(1, 2).contiguous())
    for a in range(geo.kh):
        p = patches(i, a)[0]
        timed("dW", lambda p=p: torch.bmm(g_t, p, out=d_a))
        timed("add_grad", lambda a=a: kernels.add_grad(i, a, d_a))


_rows_backward._row_filter_grad = row_filter_grad
m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
x = torch.randn(n, 64, 24, 24)
if cl:
    x, m = x.contiguous(memory_format=torch.channels_last), m.to(memory_format=torch.channels_last)
x.requires_grad_(True)
g = torch.randn_like(m(x))
step_ms, covered = timed_steps(m, x, g, times)
layout = "channels_last" if cl else "NCHW"
print(f"N = {n}, K = {k}, {layout}: step {step_ms:.1f} ms")
for name, v in times.items():
    med, per_step = statistics.median(v) * 1e6, sum(v) / covered * 1e3
    print(f"  {name:8s} median {med:5.0f} us, {per_step:5.1f} ms/step")
