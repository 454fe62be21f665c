"""A/B (session 18, kept): the kernel path's dw summed per row as (W_out, K) and written once
(the library since then) against (K, W_out) straight into dw (before). Float32, NCHW,
alternating rounds. Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/dw_rows.py N K
ROUNDS`."""

import statistics
import sys
import time

import torch

from lrlc.experiments.run.memory import keep_freed_memory
from lrlc.functional import _basis_rows, _kernel_path
from lrlc.layers import LowRankLocallyConnected2d

keep_freed_memory()
torch.set_num_threads(2)
n, k, rounds = (int(a) for a in sys.argv[1:4])


class Previous(_basis_rows.BasisKernels):
    """add_grad as it was before session 18: dw summed as (K, W_out), straight into dw."""

    def add_grad(self, i, a, grad):
        flat = grad.view(grad.shape[0], -1)
        if flat.dtype != self.d_flat.dtype:
            flat = flat.to(self.d_flat.dtype)
        if self.block > 1:
            return self._add_block_grad(i, a, flat)
        self._d_taps[a].addmm_(self._w_acc_rows[i], flat)
        d_w = self._d_w_rows[i]
        if a == 0:
            torch.mm(self._acc_taps[a], flat.t(), out=d_w)
        else:
            d_w.addmm_(self._acc_taps[a], flat.t())


lib = _basis_rows.BasisKernels
torch.manual_seed(0)
m = LowRankLocallyConnected2d(64, 64, 3, input_size=(24, 24), rank=k, path="kernel")
x = torch.randn(n, 64, 24, 24, requires_grad=True)
g = torch.randn_like(m(x))
res = {}
for name, cls in (("previous", Previous), ("library", lib)):
    _kernel_path.BasisKernels = cls
    m.zero_grad()
    x.grad = None
    y = m(x)
    y.backward(g)
    res[name] = [y.detach(), x.grad, *(p.grad for p in m.parameters())]
diff = max((a - b).abs().max().item() for a, b in zip(*res.values()))
print(f"N = {n}, K = {k}: largest difference {diff:.1e} (float32)")
times = {"previous": [], "library": []}
for _ in range(rounds):
    for name, cls in (("previous", Previous), ("library", lib)):
        _kernel_path.BasisKernels = cls
        m(x).backward(g)
        ts = []
        for _ in range(3):
            s = time.perf_counter()
            m(x).backward(g)
            ts.append(time.perf_counter() - s)
        times[name].append(statistics.median(ts) * 1e3)
for name, v in times.items():
    med = statistics.median(v)
    print(f"  {name:7s} step median {med:.1f} ms (min {min(v):.1f}, max {max(v):.1f})")
