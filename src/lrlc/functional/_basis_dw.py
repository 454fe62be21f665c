"""dw, the gradient of a fixed-weight LRLC layer's combining weights on the kernel path:

    dw[k, i, j] = <dW[i, j], F^k>          summed over the kernel rows a of dW[i, j] and F^k

one output row i at a time, from its filter gradients (W_out, X) (X = C_out * kw * C_in, the
order of `BasisKernels.flat_acc`). Three ways, by what runs here and the rank:

- dot products along X (`row_dots`), straight into dw's row, where the compiled kernel runs
  and K <= DOTS_MAX_RANK of its instruction set;
- (W_out, X) @ (X, K) through the kernel's tiles, K padded to its vector (`row_mm`), into a
  (W_out, K) buffer copied into dw's row at the last kernel row, above it;
- torch's product on views of the bases where the kernel does not run (or where X is not
  whole vectors and K <= 4, where the tiles would pad K fourfold and MKL was faster).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from ._basis_layouts import dw_operand, taps_inner
from ._native import column_multiple, native_isa, pack_panels, panel_width, row_mm
from ._native.dots import row_dots
from ._native.program import BETA_AFTER_FIRST

# dw through dot products up to this rank, by instruction set, through `row_mm`'s tiles
# above it. AVX-512: 66 rows of (22, 12288) @ (12288, K) took 1.05 / 1.48 / 2.38 / 2.97 ms as
# dot products at K = 1 / 4 / 8 / 10 against the tiles' 3.2-3.5 (K padded to 16 columns), but
# 3.21 against 3.15 at K = 12, 4.05 / 3.19 at 16, 9.9 / 7.6 at 32: a dot product's tile
# reuses each operand row 4 times, the tiles 6 and 32 times. AVX2 (its 3 x 3 dot products
# against its 6 x 16 tiles, both run on the same Zen 4, not an AVX2-only CPU): 1.39 / 1.86 /
# 2.19 / 2.78 ms at K = 2 / 4 / 6 / 8 against 2.45-2.59 (AMD EPYC Zen 4, 2 threads, session
# 22). In a training step at N = 128 (AVX-512): 0.97 / 0.91 / 1.00 of the step at K = 2 / 4
# / 8 against the tiles.
DOTS_MAX_RANK = {"AVX512": 10, "AVX2": 6}


class DwProducts:
    """dw's products for bases (K, C_out, C_in, kh, kw) in the gradients' dtype `acc`; rows:
    dw by output row, (K, W_out) views of the weights' gradient (K, H_out, W_out). Each
    layout of the bases is made where it is first read (at K = 32 each is 4.7 MB)."""

    def __init__(self, bases: Tensor, acc: torch.dtype, rows) -> None:
        self.bases, self.acc, self.rows = bases, acc, rows
        k, c_out, c_in, self.kh, kw = bases.shape
        self.k, self.x = k, c_out * kw * c_in  # X: one kernel row's filter gradient
        self.w_out = rows[0].shape[1]

    @functools.cached_property
    def flat_acc(self) -> Tensor:
        """(K, kh, C_out, kw, C_in) as (K, kh * X): the order of the filter gradients. From
        `taps_inner` (a view for channels_last bases), one copy of whole runs of C_in."""
        t = taps_inner(self.bases.to(self.acc))  # (K, C_out, kh, kw, C_in)
        return t.permute(0, 2, 1, 3, 4).reshape(self.k, -1)

    @functools.cached_property
    def panels(self) -> Tensor | None:
        """`flat_acc` by kernel row in the compiled kernel's panels, (kh, tiles, K, width),
        what the dot products read, where they run (made from the bases: no flat_acc kept
        beside it); else None."""
        width, vec, isa = panel_width(), column_multiple(), native_isa()
        if not width or self.acc is not torch.float32 or self.x % vec:
            return None
        if self.k > DOTS_MAX_RANK.get(isa, 0):
            return None
        by_row = self.bases.permute(3, 0, 1, 4, 2).reshape(self.kh, self.k, -1)  # (kh, K, X)
        return pack_panels(by_row.to(self.acc), width)

    @functools.cached_property
    def operands(self) -> tuple[tuple[Tensor, ...], Tensor]:
        """Per kernel row, the bases as the product's right operand (X, K), and the (W_out, K)
        buffer a row's dw is summed in. Where the compiled kernel runs and K fills more than a
        quarter of the columns it would be padded to: `dense`; else views for torch's
        product. (22, 12288) @ (12288, K) took 46-52 us through the kernel for K = 2-16 (the
        padded columns cost nearly nothing: it streams the left operand) and 87-93 at K = 32;
        MKL's 37-51 / 37-47 / 69-90 / 102-126 / 189-223 at K = 2 / 4 / 8 / 16 / 32 (AMD EPYC
        Zen 4, three runs, `docs/benchmarks/ab-session20/`)."""
        m = column_multiple() if self.acc == torch.float32 else 0
        if not m or 4 * self.k <= -(-self.k // m) * m:
            taps = self.flat_acc.view(self.k, self.kh, -1).unbind(1)
            return tuple(t.t() for t in taps), taps[0].new_empty((self.w_out, self.k))
        dense, d_w_t = self.dense
        return dense.unbind(0), d_w_t

    @functools.cached_property
    def dense(self) -> tuple[Tensor, Tensor]:
        """The right operands as one dense (kh, X, K padded to the kernel's multiple) and the
        (W_out, K padded) buffer: `operands` where it takes them dense, the one-call backward
        above DOTS_MAX_RANK. (kh, X, K) in flat_acc's X order, from the bases by two
        transposes (`_basis_layouts.dw_operand`)."""
        m = column_multiple() or 1
        dense = dw_operand(self.bases, -(-self.k // m) * m, self.acc)
        return dense, dense.new_empty((self.w_out, dense.shape[2]))

    def add(self, i: int, a: int, flat: Tensor) -> None:
        """Kernel row a's part of row i's dw from its filter gradients flat (W_out, X). As a
        product, (W_out, X) @ (X, K): MKL ran it in 37 us where (K, X) @ (X, W_out) took 96
        (K = 4, X = 12288; AMD EPYC Zen 4, float32), a training step 2-4% faster at K = 4-32
        (session 18, docs/benchmarks/ab-session18/dw_orientation.py, dw_rows.py)."""
        if self.panels is not None:
            row_dots(flat, self.panels[a], self.rows[i].t(), accumulate=a > 0)
            return
        taps, d_w_t = self.operands
        row_mm(flat, taps[a], d_w_t, accumulate=a > 0, by_rows=True)
        if a == self.kh - 1:
            self.rows[i].copy_(d_w_t[:, : self.k].t())

    def program_steps(self, prog, grad: Tensor) -> None:
        """`add` at every (i, a) as steps of `prog` (`_native.program.Program`); grad: the
        (W_out, X) buffer the dW products write."""
        rows = self.rows
        nxt = len(rows) > 1
        if self.panels is not None:  # dot products, straight into the weights' gradient
            panels = self.panels
            prog.dots(
                (grad, panels[0], rows[0].t()), (grad, panels[0], rows[1].t()) if nxt else None,
                (grad, panels[1], rows[0].t()) if self.kh > 1 else None,
                beta_rule=BETA_AFTER_FIRST,
            )  # fmt: skip
            return
        dense, d_w_t = self.dense  # a product into a buffer, copied into dw at the last a
        g, t0 = grad.unsqueeze(0), d_w_t.unsqueeze(0)
        prog.product(
            (1, self.w_out, grad.shape[1], dense.shape[2]), (g, dense[0:1], t0), None,
            (g, dense[1:2], t0) if self.kh > 1 else None, by_rows=True,
            beta_rule=BETA_AFTER_FIRST,
        )  # fmt: skip
        prog.transposed_rows(d_w_t, rows[0], rows[1] if nxt else None)
