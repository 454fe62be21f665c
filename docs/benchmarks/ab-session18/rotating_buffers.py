"""A/B, not kept (session 18): the kernel path's filter builds into three buffers in turn, so
that no build writes the lines the product before it has just read (on another thread, half
of them), against the library's one buffer. Float32, NCHW; rounds of the VM's slow state
(library well above its fastest rounds) read apart.
Run: `PYTHONPATH=src python docs/benchmarks/ab-session18/rotating_buffers.py N K ROUNDS`."""

import sys

import torch
from _ab import kernel_path_ab, report, report_by_state

from lrlc.functional import _basis_rows

n, k, rounds = (int(a) for a in sys.argv[1:4])
BUFFERS = 3


class Rotating(_basis_rows.BasisKernels):
    def _build(self, i, a, order):
        if self.block > 1:
            return super()._build(i, a, order)
        f = (self._flat_rows if order == "forward" else self._flat_t_rows)[a]
        key = (order, (i * self.shape[0] + a) % BUFFERS)
        if key not in self._buffers:
            self._buffers[key] = f.new_empty((self.w_out, f.shape[1]))
        return torch.mm(self._w_rows[i], f, out=self._buffers[key])


times = kernel_path_ab(
    n, k, rounds, (("library", _basis_rows.BasisKernels), ("rotating", Rotating))
)
report_by_state(times, "library", "rotating")
report(times)
