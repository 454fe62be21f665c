"""A/B, not kept (session 18): the kernel path's small products split by thread, so that the
thread that builds a group of positions' filters, or reduces their gradients, is the one
whose share of the row products reads or wrote them. With 2 threads the 22 positions of a
row are two batches of 11 (`torch.bmm` gives each thread one), where `torch.mm` split the
filters by columns. `sites`: any of build, place, grad (comma-separated). Float32, NCHW.
Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/partition.py N K ROUNDS [sites]`."""

import sys

import torch
from _ab import kernel_path_ab, report, report_by_state

from lrlc.functional import _basis_rows

n, k, rounds = (int(a) for a in sys.argv[1:4])
SITES = (sys.argv[4] if len(sys.argv) > 4 else "build,place,grad").split(",")
T = 2  # thread groups


class Partitioned(_basis_rows.BasisKernels):
    def __init__(self, bases, weights, need_grads=False):
        super().__init__(bases, weights, need_grads)
        self.r = self.w_out // T
        self._wg = [w.view(T, self.r, -1) for w in self._w_rows]  # (T, W/T, K)
        if need_grads:
            kh = self.shape[0]
            x = self.flat_acc.shape[1] // kh
            self.parts = self.flat_acc.new_zeros((kh, T, k, x))  # dF by thread group
            self._wag = [w.view(k, T, self.r).permute(1, 0, 2) for w in self._w_acc_rows]

    def _build(self, i, a, order):
        if "build" not in SITES:
            return super()._build(i, a, order)
        f = (self._flat_rows if order == "forward" else self._flat_t_rows)[a]
        out = self._buffer(order, (self.w_out, f.shape[1]), f)
        torch.bmm(self._wg[i], f.expand(T, -1, -1), out=out.view(T, self.r, -1))
        return out

    def place_transposed(self, i, a, diag):
        if "place" not in SITES:
            return super().place_transposed(i, a, diag)
        kw = self.transposed_shape[1]
        for b, tap in enumerate(self._flat_t_taps[a]):
            out = diag[kw - 1 - b : kw - 1 - b + self.w_out, b].view(T, self.r, -1)
            torch.bmm(self._wg[i], tap.expand(T, -1, -1), out=out)

    def add_grad(self, i, a, grad):
        if "grad" not in SITES:
            return super().add_grad(i, a, grad)
        flat = grad.view(T, self.r, -1)
        self.parts[a].baddbmm_(self._wag[i], flat)
        d_w_g = torch.bmm(self._acc_taps[a].expand(T, -1, -1), flat.transpose(1, 2))
        d_w = self._d_w_rows[i]
        d_w_g = d_w_g.permute(1, 0, 2).reshape(d_w.shape)
        d_w.copy_(d_w_g) if a == 0 else d_w.add_(d_w_g)

    def bases_grad(self, shape):
        if "grad" in SITES:
            self.d_flat.copy_(self.parts.sum(1).permute(1, 0, 2).reshape(shape[0], -1))
        return super().bases_grad(shape)


library = _basis_rows.BasisKernels
print(f"sites {SITES}")
times = kernel_path_ab(n, k, rounds, (("library", library), ("partitioned", Partitioned)))
report_by_state(times, "library", "partitioned")
report(times)
