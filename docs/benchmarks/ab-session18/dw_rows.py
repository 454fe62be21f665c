"""A/B (session 18, kept): the kernel path's dw summed per row as (W_out, K) and written once
(the library since then) against (K, W_out) straight into dw (before). Float32, NCHW,
alternating rounds. Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/dw_rows.py N K
ROUNDS`."""

import sys

import torch
from _ab import kernel_path_ab, report

from lrlc.functional import _basis_rows

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


times = kernel_path_ab(
    n, k, rounds, (("previous", Previous), ("library", _basis_rows.BasisKernels))
)
report(times)
