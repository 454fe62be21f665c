"""The kernel path's small products in a real training step (session 18): the filter builds
(`_build`), their placement for dL/dx (`place_transposed`) and the gradients sent to the bases
and weights (`add_grad`), each timed where it is called. Float32, NCHW, 2 threads.
Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/small_products.py N K`."""

import statistics
import sys
import time

import torch
from _ab import timed_steps

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _basis_rows
from lrlc.layers import LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
n, k = int(sys.argv[1]), int(sys.argv[2])
times: dict[str, list[float]] = {}


def timed(name):
    f = getattr(_basis_rows.BasisKernels, name)

    def g(self, *args):
        s = time.perf_counter()
        r = f(self, *args)
        times.setdefault(name, []).append(time.perf_counter() - s)
        return r

    setattr(_basis_rows.BasisKernels, name, g)


for name in ("_build", "place_transposed", "add_grad"):
    timed(name)
m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
x = torch.randn(n, 64, 24, 24, requires_grad=True)
g = torch.randn_like(m(x))
step_ms, covered = timed_steps(m, x, g, times)
print(f"N = {n}, K = {k}: step {step_ms:.1f} ms")
for name, v in times.items():
    med, per_step = statistics.median(v) * 1e6, sum(v) / covered * 1e3
    calls = len(v) // covered
    print(f"  {name:17s} {calls:3d} calls/step, median {med:4.0f} us, {per_step:5.1f} ms/step")
